"""Chinese full-text search: segmentation on both sides, bm25 ranking, honest scores."""

from __future__ import annotations

import pytest

from knowledge.search import fts_query, query_terms

PLAN = "黄政办发〔2022〕60号"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("盲人医疗按摩考试", {"13"}),
        ("盲人按摩考试", {"13"}),
        ("卷烟零售许可证", {"2"}),
        ("公益性岗位补贴", {"7"}),
        ("大学生就业", {"10", "12"}),
        ("辅助性就业", {"6"}),
        ("就业辅导员", {"18"}),
        ("职业技能培训补贴", {"21"}),
        ("超比例安排残疾人就业的奖励", {"三（二）"}),
        ("直播带货", {"3"}),
        ("非物质文化遗产", {"5"}),
        ("就业服务四个一", {"16"}),
        ("文号", {"document"}),
    ],
)
def test_the_right_entry_comes_first(kb, query, expected):
    hits = kb.search(query)
    assert hits, query
    assert hits[0].entry.key.split("#", 1)[1] in expected, [h.entry.ref for h in hits]


def test_scores_are_positive_and_sorted(kb):
    hits = kb.search("盲人按摩考试", limit=10)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    assert hits[0].score > 1.5 * hits[1].score  # 13 clearly beats 14


def test_nothing_fits(kb):
    assert kb.search("今天天气怎么样") == []
    assert kb.search("") == []
    assert kb.search("，。？") == []


@pytest.mark.parametrize("words", ["我儿子聋人找工作", "智力残疾 上班", "我家孩子是聾人，想上班"])
def test_fallback_finds_candidates_for_a_callers_own_words(kb, words):
    """Words found nearly everywhere (就业, 残疾) beside a kind of disability the plan never names:
    the full-text search finds nothing, the fallback offers the closest entries."""
    assert kb.search(words) == []  # answering keeps the strict search
    hits = kb.search(words, fallback=True)
    assert 1 <= len(hits) <= 5 and all(h.loose and h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {h.entry.kind for h in hits} <= {"item", "safeguard", "target"}
    # 找工作 / 上班 mean 就业: the entries about employment services come first.
    assert hits[0].entry.key in {f"{PLAN}#{n}" for n in (6, 7, 15, 16, 17, 18, 19)}, [
        h.entry.ref for h in hits
    ]


@pytest.mark.parametrize(
    "words", ["今天天气怎么样", "asdfgh", "", "，。？", "你好", "残疾证怎么办", "12345"]
)
def test_fallback_still_finds_nothing_for_what_is_not_in_the_plan(kb, words):
    assert kb.search(words, fallback=True) == []


def test_fallback_is_not_used_when_the_search_finds_something(kb):
    hits = kb.search("盲人按摩考试", fallback=True)
    assert hits[0].entry.item == 13 and not any(h.loose for h in hits)


def test_fallback_keeps_limit_kinds_and_keys(kb):
    assert len(kb.search("我儿子聋人找工作", limit=2, fallback=True)) == 2
    keys = [f"{PLAN}#20", f"{PLAN}#22"]
    assert {h.entry.key for h in kb.search("智力残疾 上班", keys=keys, fallback=True)} <= set(keys)
    kinds = {h.entry.kind for h in kb.search("智力残疾 上班", kinds=["safeguard"], fallback=True)}
    assert kinds <= {"safeguard"}
    assert kb.search("智力残疾 上班", kinds=[], fallback=True) == []
    assert kb.search("智力残疾 上班", limit=0, fallback=True) == []


def test_limit_kinds_and_keys(kb):
    assert len(kb.search("残疾人就业培训", limit=3)) == 3
    assert {h.entry.kind for h in kb.search("培训", limit=30, kinds=["safeguard"])} == {"safeguard"}
    keys = [f"{PLAN}#20", f"{PLAN}#22"]
    hits = kb.search("职业技能培训补贴", keys=keys)
    assert {h.entry.key for h in hits} == set(keys)
    assert kb.search("职业技能培训补贴", keys=[]) == []
    assert kb.search("职业技能培训补贴", kinds=[]) == []


def test_targets_are_searchable(kb):
    keys = [h.entry.key for h in kb.search("农村残疾人就业多少人", kinds=["target"])]
    assert keys[0] == f"{PLAN}#target-rural-1500"


def test_query_is_normalised_like_the_index(kb):
    """Voice slips and everyday words reach the plan's words (via the lexicon)."""
    assert kb.search("忙人按摩考试")[0].entry.item == 13


def test_query_terms_drop_stopwords_and_punctuation():
    terms = query_terms("请问，我想了解一下公益性岗位补贴？")
    assert "？" not in terms and "，" not in terms and "请问" not in terms and "我" not in terms
    assert "公益性岗位补贴" in terms or "补贴" in terms


def test_fts_query_quotes_every_term():
    assert fts_query(["盲人", 'a"b', "OR"]) == '"盲人" OR "a""b" OR "OR"'


def test_rarity_caches_stay_bounded_whatever_people_ask(kb):
    from knowledge import relevance, search

    index, loose = relevance._index(kb), kb._loose()
    assert index.idf("盲人") > 0 and loose.df("盲人") > 0
    for n in range(max(relevance.IDF_CACHE_SIZE, search.DF_CACHE_SIZE) + 100):
        assert index.idf(f"~没有{n}") == 0.0 and loose.df(f"没有{n}") == 0
    assert index.idf.cache_info().currsize <= relevance.IDF_CACHE_SIZE
    assert loose.df.cache_info().currsize <= search.DF_CACHE_SIZE
