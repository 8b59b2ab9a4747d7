"""The held-out evaluation's judge: only a real answer citing the entry first counts."""

from __future__ import annotations

from knowledge.answering import Answer
from tests.eval.__main__ import judge

SOURCE = {
    "document": "黄政办发〔2022〕60号",
    "item": 13,
    "ref": "二（八）13",
    "kind": "item",
    "title": "积极开展盲人按摩就业促进行动",
    "departments": ["市残联", "市卫健委"],
    "key": "黄政办发〔2022〕60号#13",
}


def test_a_real_answer_citing_the_item_first_is_right():
    assert judge("13", Answer("…", sources=[SOURCE], kind="answer"))[0]
    assert judge("department:市卫健委", Answer("…", sources=[SOURCE], kind="departments"))[0]


def test_candidates_are_not_an_answer_even_with_sources():
    offer = Answer("您是想问下面哪一项？", sources=[SOURCE], kind="candidates")
    ok, got = judge("13", offer)
    assert not ok and "candidates" in got
    assert not judge("department:市卫健委", offer)[0]
