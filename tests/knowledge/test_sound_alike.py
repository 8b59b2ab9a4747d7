"""Voice-input slips that sound exactly like a lexicon word are read as that word."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.lexicon import get_lexicon


@pytest.fixture(scope="module")
def fix():
    return get_lexicon().sound_alikes.fix


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("残疾大学生就叶补贴", "残疾大学生就业补贴"),  # 叶 ye4 for 业 ye4
        ("阳光加园 做手工", "阳光家园 做手工"),
        ("残即人能干公益岗吗", "残疾人能干公益岗吗"),
        ("想学按磨", "想学按摩"),
        ("我是龙哑人", "我是聋哑人"),
        ("残疾人职业技能竟赛", "残疾人职业技能竞赛"),
    ],
)
def test_a_slip_that_sounds_like_a_lexicon_word_becomes_that_word(fix, typed, meant):
    assert fix(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "工商联在里面做什么",  # 工商 sounds like 工伤 but is a word of its own
        "托养机构里能做点活吗",  # 养机 sounds like 养鸡 but spans two words
        "我家孩子是残联介绍的",  # 是残联 holds the word 残联
        "坚定信心",  # another tone than 鉴定
        "hello 123",
    ],
)
def test_words_and_spans_across_words_are_left_alone(fix, text):
    assert fix(text) == text


def test_no_sentence_of_the_plan_is_changed(fix, kb):
    simplify = get_lexicon().simplify
    sentences = [simplify(s) for entry in kb.entries() for s in entry.sentences]
    assert len(sentences) > 50
    assert [s for s in sentences if fix(s) != s] == []


def test_normalising_reads_the_slip_in_the_plans_words():
    assert "盲人按摩" in get_lexicon().normalize("忙人按魔培训")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="残疾人就业叶即按摩磨加家园阳光工商托养机构，。？ab1", max_size=30))
def test_the_fix_keeps_the_length(fix, text):
    # Same length, so offsets found in the fixed text are offsets in the typed text.
    assert len(fix(text)) == len(text)


def test_pypinyins_phrase_dictionary_is_not_loaded():
    # Only single characters are read; the phrase dictionary would cost 45 MB per process.
    code = "import knowledge.sound_alike, pypinyin.constants as c; print(len(c.PHRASES_DICT))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
