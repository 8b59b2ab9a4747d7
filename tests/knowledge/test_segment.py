"""The segmenter: lexicon words stay whole, here and in Rasa's jieba user dictionary."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import jieba
import pytest

from knowledge.jieba_tokenizer import make_tokenizer
from knowledge.lexicon import get_lexicon
from knowledge.segment import (
    USER_DICTIONARY_NAME,
    segment,
    user_dictionary_lines,
    write_user_dictionary,
)

PLAN = Path(__file__).resolve().parents[2] / "knowledge" / "sources" / "hs-2022-60.md"


def rasa_style_tokenizer(folder: Path) -> jieba.Tokenizer:
    """What Rasa's JiebaTokenizer does with dictionary_path, on a fresh (not global) tokenizer."""
    tokenizer = jieba.Tokenizer()
    for path in sorted(folder.glob("*")):
        tokenizer.load_userdict(str(path))
    return tokenizer


def rasa_tokens(tokenizer: jieba.Tokenizer, text: str) -> list[str]:
    return [word for word, _, _ in tokenizer.tokenize(text)]  # Rasa calls jieba.tokenize


@pytest.fixture(scope="module")
def words() -> list[str]:
    return get_lexicon().words()


@pytest.fixture(scope="module")
def rasa_jieba(tmp_path_factory, words) -> jieba.Tokenizer:
    folder = tmp_path_factory.mktemp("jieba")
    write_user_dictionary(folder, words)
    return rasa_style_tokenizer(folder)


def test_segment_keeps_every_lexicon_word_whole(words):
    broken = [w for w in words if segment(w) != [w]]
    assert broken == []


def test_segment_keeps_every_lexicon_word_whole_in_a_sentence(words):
    broken = [w for w in words if w not in segment(f"请问{w}是什么")]
    assert broken == []


def test_rasa_user_dictionary_keeps_every_lexicon_word_whole(rasa_jieba, words):
    broken = [w for w in words if rasa_tokens(rasa_jieba, w) != [w]]
    assert broken == []
    broken = [w for w in words if w not in rasa_tokens(rasa_jieba, f"请问{w}是什么")]
    assert broken == []


def test_segment_and_rasa_jieba_split_the_whole_plan_alike(rasa_jieba):
    for line in PLAN.read_text(encoding="utf-8").splitlines():
        if line.strip():
            assert segment(line) == rasa_tokens(rasa_jieba, line), line


def test_segment_cuts_traditional_text_like_simplified():
    assert segment("這個歸衛健委管嗎") == ["這個", "歸", "衛健委", "管", "嗎"]
    assert segment("这个归卫健委管吗") == ["这个", "归", "卫健委", "管", "吗"]


def test_plain_jieba_would_split_terms_the_lexicon_keeps():
    # Why the lexicon is needed at all: a tokenizer without it breaks these words.
    plain = make_tokenizer([])
    assert plain.lcut("这个归卫健委管吗") != ["这个", "归", "卫健委", "管", "吗"]
    assert "烟草证" not in plain.lcut("想办烟草证")
    assert "烟草证" in segment("想办烟草证")


def test_user_dictionary_file_has_one_jieba_line_per_word(tmp_path, words):
    path = write_user_dictionary(tmp_path / "jieba", words)
    assert path.name == USER_DICTIONARY_NAME
    assert list((tmp_path / "jieba").iterdir()) == [path]  # Rasa loads every file in the folder
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line.split(" ")[0] for line in lines] == words
    pattern = re.compile(r"^\S+ \d+$")
    assert all(pattern.match(line) for line in lines)


def test_user_dictionary_lines_drop_duplicates():
    assert user_dictionary_lines(["残联", "残联", "卫健委"]) == [
        user_dictionary_lines(["残联"])[0],
        user_dictionary_lines(["卫健委"])[0],
    ]


def test_tokenizers_copy_the_main_dictionary_and_keep_their_words_to_themselves():
    """make_tokenizer starts later tokenizers from one loaded copy of jieba's dictionary: the
    words one tokenizer is given must not reach another (or the copy they all start from)."""
    word = "黄石助残新词"
    given = make_tokenizer([word])
    plain = make_tokenizer([])
    assert given.lcut(f"请问{word}是什么")[1] == word
    assert word not in plain.lcut(f"请问{word}是什么") and word not in plain.FREQ
    assert given.total > plain.total


def test_a_process_that_makes_one_tokenizer_keeps_no_second_dictionary():
    """The gateway and the action server make one tokenizer: it loads the dictionary for itself,
    and no copy is kept (20 MB a process); a second tokenizer starts the kept copy."""
    script = (
        "from knowledge import jieba_tokenizer as j\n"
        "first = j.make_tokenizer(['黄石助残新词'])\n"
        "print(j._main_dictionary.cache_info().currsize)\n"
        "second = j.make_tokenizer([])\n"
        "print(j._main_dictionary.cache_info().currsize, '黄石助残新词' in second.FREQ,"
        " first.FREQ is not second.FREQ)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["0", "1 False True"]
