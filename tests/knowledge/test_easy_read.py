"""Easy-read (易读) summaries: every entry has one, it is short, plain, and adds no fact.

The checks are mechanical readings of knowledge/easy_read.yml against the built knowledge base:
every department, group, programme, amount and number a summary names must be named by its
entry (title, text or departments; the lexicon's aliases count as the same name).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from knowledge.build import build
from knowledge.easy_read import (
    MAX_EXPLANATION_CHARS,
    MAX_SENTENCE_CHARS,
    MAX_SENTENCES,
    explanation_line,
    load_easy_read,
    render,
    terms_in,
)
from knowledge.errors import SourceParseError
from knowledge.lexicon import get_lexicon
from knowledge.store import KnowledgeBase, open_kb

PLAN = "黄政办发〔2022〕60号"
EASY = load_easy_read()
PLAN_KEYS = sorted(k for k in EASY.summaries if k.startswith(PLAN + "#"))

# Numbers as digits, and in Chinese when a measure word follows (一次, 两名, 一千五百人).
DIGITS = re.compile(r"\d+(?:\.\d+)?")
CHINESE_NUMBER = re.compile(r"([零一二两三四五六七八九十百千万]+)(?=[名人个次年条岁倍项家户所])")
_DIGIT = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_DIGIT |= {"八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10000}
# A word ending like this names an organisation; it must be the entry's.
ORGANISATION = re.compile("委员会|办公室|联合会|政府|残联|工商联|局|委")
# Money words: a summary may promise money only where its entry speaks of money.
MONEY_WORDS = ("补贴", "奖励", "资助", "免费", "减免", "保障金", "费")


def chinese_value(word: str) -> int:
    total, section, digit = 0, 0, 0
    for ch in word:
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        elif ch == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            section += (digit or 1) * _UNIT[ch]
            digit = 0
    return total + section + digit


def numbers(text: str) -> set[float]:
    found = {float(n) for n in DIGITS.findall(text)}
    found |= {float(chinese_value(w)) for w in CHINESE_NUMBER.findall(text)}
    return found


def entry_words(entry) -> str:
    return f"{entry.title}。{entry.text}"


def new_facts(text: str, entry) -> list[str]:
    """What `text` names that `entry` does not: departments and other organisations, groups,
    kinds of disability, programmes and the plan's other words, money, numbers."""
    lex = get_lexicon()
    source = entry_words(entry)
    problems = [f"number {n:g}" for n in sorted(numbers(text) - numbers(source))]
    for concept in lex.concepts("department"):
        names = [concept.canonical, *concept.variants]
        if not any(name in text for name in names):
            continue
        if concept.canonical not in entry.departments and not any(n in source for n in names):
            problems.append(f"department {concept.canonical}")
    problems += organisations(text, entry)
    for concept in lex.concepts():
        if concept.label == "department":
            continue
        names = lex.entity_names(concept)
        if not any(name in text for name in names):
            continue
        tagged = concept.canonical in entry.tags.get(concept.label or "", [])
        if not tagged and not any(name in source for name in names):
            problems.append(f"{concept.label or 'word'} {concept.canonical}")
    for word in MONEY_WORDS:
        if word in text and word not in source:
            problems.append(f"money {word}")
    if "钱" in text and not any(word in source for word in MONEY_WORDS):
        problems.append("money 钱")
    return problems


def organisations(text: str, entry) -> list[str]:
    """Organisations the lexicon does not know (市医保局): once the names of the entry's own
    departments are taken out, whatever still ends like an organisation must be written,
    with at least the characters before its ending, in the entry."""
    lex = get_lexicon()
    source = entry_words(entry)
    allowed = []
    for concept in lex.concepts("department"):
        names = [concept.canonical, *concept.variants]
        if concept.canonical in entry.departments or any(n in source for n in names):
            allowed += names
    for name in sorted(allowed, key=len, reverse=True):
        text = text.replace(name, "□" * len(name))
    problems = []
    for match in ORGANISATION.finditer(text):
        end = match.end()
        windows = [text[start:end] for start in range(max(0, end - 12), end - 2)]
        if not any(w in source for w in windows if "□" not in w and "\n" not in w):
            problems.append(f"organisation {text[max(0, match.start() - 3) : end]}")
    return problems


def names_a_department(text: str, entry) -> bool:
    lex = get_lexicon()
    for concept in lex.concepts("department"):
        if concept.canonical in entry.departments and any(
            name in text for name in (concept.canonical, *concept.variants)
        ):
            return True
    return False


# -- the data ---------------------------------------------------------------------------------


def test_every_entry_of_the_plan_has_a_summary(kb):
    keys = [e.key for e in kb.entries()]
    assert {"item", "safeguard", "target", "document"} <= {e.kind for e in kb.entries()}
    assert [k for k in keys if kb.plain_summary(k) is None] == []
    assert sorted(keys) == PLAN_KEYS, "a summary for an entry the plan does not have"


def test_the_file_says_how_it_was_reviewed():
    assert "issue 15" in EASY.reviewed and "against the entry" in EASY.reviewed
    assert "tests/knowledge/test_easy_read.py" in EASY.reviewed


@pytest.mark.parametrize("key", PLAN_KEYS)
def test_summary_is_at_most_three_short_sentences(key):
    sentences = EASY.summaries[key]
    assert 1 <= len(sentences) <= MAX_SENTENCES
    for sentence in sentences:
        assert len(sentence) <= MAX_SENTENCE_CHARS, f"{len(sentence)} characters: {sentence}"
        assert sentence[-1] in "。！？", f"a sentence ends as one: {sentence}"
        assert sum(sentence.count(mark) for mark in "。！？") == 1, f"one sentence: {sentence}"


@pytest.mark.parametrize("key", PLAN_KEYS)
def test_summary_adds_no_fact(kb, key):
    entry = kb.entry(key)
    summary = kb.plain_summary(key)
    assert new_facts(summary.text, entry) == []


@pytest.mark.parametrize("key", PLAN_KEYS)
def test_summary_says_whom_to_ask(kb, key):
    entry = kb.entry(key)
    if entry.departments:
        assert names_a_department(kb.plain_summary(key).text, entry)


@pytest.mark.parametrize("key", PLAN_KEYS)
def test_official_terms_are_explained_the_first_time(kb, key):
    summary = kb.plain_summary(key)
    terms = kb.plain_terms()
    for term in terms:
        uses = [i for i, line in enumerate(summary.lines) if term in line]
        if not uses:
            continue
        first = uses[0]
        assert summary.lines[first] in summary.sentences, f"{term} first used in a sentence"
        assert summary.lines[first + 1 :].count(explanation_line(term, terms[term])) >= 1, (
            f"{term} is explained after its first use"
        )
        assert term in summary.terms
    text = summary.text
    assert [w for w in EASY.avoid if w in text] == [], "official wording a summary avoids"


def test_explanations_are_short_and_everyday():
    assert "辅助性就业" in EASY.terms and "公益性岗位" in EASY.terms
    for term, explanation in EASY.terms.items():
        assert len(explanation) <= MAX_EXPLANATION_CHARS, term
        assert term not in explanation, f"{term} explained by itself"
        assert [w for w in EASY.avoid if w in explanation] == [], term


def test_assisted_employment_is_explained_as_the_issue_asks(kb):
    summary = kb.plain_summary(f"{PLAN}#6")
    assert "辅助性就业，就是在有人帮助的地方做简单的工作。" in summary.lines
    assert summary.lines.index("辅助性就业，就是在有人帮助的地方做简单的工作。") == 1


def test_length_figures(kb):
    """The figures the closing note reports; they hold for every summary."""
    summaries = [kb.plain_summary(k) for k in PLAN_KEYS]
    sentences = [s for summary in summaries for s in summary.sentences]
    assert len(summaries) == 30
    assert max(len(s) for s in sentences) <= MAX_SENTENCE_CHARS
    assert max(len(summary.sentences) for summary in summaries) <= MAX_SENTENCES


# -- the checks catch what they are for ----------------------------------------------------


@pytest.mark.parametrize(
    "added,kind,name",
    [
        ("可以问市税务局。", "department", "市税务局"),
        ("可以问税务局。", "department", "市税务局"),
        ("可以问市医保局。", "organisation", "市医保局"),
        ("残工委会管。", "organisation", "残工委"),
        ("每人发3000元。", "number", "3000"),
        ("一年考两次。", "number", "2"),
        ("聋人也可以参加。", "disability", "听力残疾"),
        ("大学生也可以参加。", "group", "高校毕业生"),
        ("还能安排公益性岗位。", "topic", "公益性岗位"),
        ("考试有补贴。", "money", "补贴"),
        ("政府给钱。", "money", "钱"),
    ],
)
def test_the_check_finds_an_added_fact(kb, added, kind, name):
    entry = kb.entry(f"{PLAN}#13")
    text = kb.plain_summary(entry.key).text
    assert new_facts(text, entry) == []
    problems = new_facts(f"{text}\n{added}", entry)
    assert any(p.startswith(kind) and name in p for p in problems), problems


def test_aliases_count_as_the_entry_s_names(kb):
    entry = kb.entry(f"{PLAN}#13")
    assert new_facts("看不见的人可以问卫健委和残联。", entry) == []
    assert not names_a_department("可以问税务局。", entry)
    assert names_a_department("可以问卫健委。", entry)


def test_chinese_numbers_are_read():
    assert numbers("帮扶带动一千五百名残疾人，至少一次") == {1500.0, 1.0}
    assert numbers("编制50人（含）以上，60%") == {50.0, 60.0}


# -- wording, loading and building -----------------------------------------------------------


def test_a_term_is_explained_once_right_after_its_first_use():
    terms = {"辅助性就业": "在有人帮助的地方做简单的工作", "就业援助": "重点帮忙"}
    lines, explained = render(["可以辅助性就业。", "辅助性就业很好。"], terms)
    assert lines == [
        "可以辅助性就业。",
        "辅助性就业，就是在有人帮助的地方做简单的工作。",
        "辅助性就业很好。",
    ]
    assert explained == ["辅助性就业"]
    assert terms_in("有就业援助月活动。", terms | {"就业援助月": "每年一次的活动"}) == [
        "就业援助月"
    ]


def write_easy_read(path: Path, summaries: str) -> Path:
    path.write_text(
        "reviewed: by the test\n"
        "terms:\n  辅助性就业: 在有人帮助的地方做简单的工作\n"
        "avoid: [落实]\n"
        f"summaries:\n  {PLAN}:\n{summaries}",
        encoding="utf-8",
    )
    return path


def test_more_than_three_sentences_is_refused(tmp_path):
    path = write_easy_read(tmp_path / "easy.yml", '    "13": [一。, 二。, 三。, 四。]\n')
    with pytest.raises(SourceParseError, match="more than 3 sentences"):
        load_easy_read(path)


def test_a_file_without_its_review_note_is_refused(tmp_path):
    path = tmp_path / "easy.yml"
    path.write_text(f"terms: {{}}\nsummaries:\n  {PLAN}:\n    '13': [一。]\n", encoding="utf-8")
    with pytest.raises(SourceParseError, match="reviewed"):
        load_easy_read(path)


def test_build_refuses_a_summary_of_an_entry_the_plan_does_not_have(tmp_path, plan_source):
    path = write_easy_read(tmp_path / "easy.yml", '    "99": [没有这一条。]\n')
    with pytest.raises(SourceParseError, match="#99"):
        build(
            sources=[plan_source],
            db_path=tmp_path / "kb.db",
            tagger=lambda sentence: [],
            easy_read=path,
        )
    assert not (tmp_path / "kb.db").exists()


def test_summaries_of_other_documents_are_left_out(multi_kb):
    second = [e for e in multi_kb.entries() if e.document != PLAN]
    assert second and all(multi_kb.plain_summary(e.key) is None for e in second)
    assert multi_kb.plain_summary(f"{PLAN}#13") is not None


def test_a_knowledge_base_built_before_summaries_still_opens(kb_path, tmp_path):
    old = tmp_path / "old.db"
    shutil.copy(kb_path, old)
    with sqlite3.connect(old) as conn:
        conn.execute("drop table plain_summaries")
        conn.execute("drop table plain_terms")
    kb = KnowledgeBase(old)
    assert kb.plain_summary(f"{PLAN}#13") is None and kb.plain_terms() == {}
    assert kb.entry(f"{PLAN}#13").title == "积极开展盲人按摩就业促进行动"
    assert open_kb(kb_path).plain_summary(f"{PLAN}#13") is not None
