import pytest

from knowledge.numbers import parse_number


@pytest.mark.parametrize(
    ("word", "number"),
    [
        ("13", 13),
        ("１３", 13),
        ("十三", 13),
        ("十", 10),
        ("二十二", 22),
        ("廿一", 21),
        ("两", 2),
        ("九", 9),
    ],
)
def test_numbers_people_write(word, number):
    assert parse_number(word) == number


@pytest.mark.parametrize("word", ["", "好的", "十三条", "一二三四", "12345", "三十十"])
def test_anything_else_is_not_a_number(word):
    assert parse_number(word) is None
