"""How relevant an entry or a sentence of the plan is to a question.

Words (segmented with the lexicon, after normalisation) and character pairs are both used:
words carry the meaning, character pairs survive the cases where a question and the plan
split a phrase differently (医疗按摩 vs 盲人医疗按摩). Each feature is weighted by how rare it
is across the plan, so 盲人 counts more than 就业.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache

from knowledge import normalized
from knowledge.segment import segment
from knowledge.store import Entry, KnowledgeBase

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORDISH = re.compile(r"\w")
# A whole word says more than a character pair that merely occurs in it.
WORD_WEIGHT = 1.0
PAIR_WEIGHT = 0.5
# A word in an action's heading says more about what the entry is for; a department named in
# the question points at the entries it is responsible for, a little.
TITLE_BONUS = 0.5
DEPARTMENT_WEIGHT = 0.5
# Rarities kept per index: questions bring any number of words the plan never uses.
IDF_CACHE_SIZE = 4096


def normalize(text: str) -> str:
    return normalized.normalize(text)


def simplify(text: str) -> str:
    """Traditional -> simplified characters only, the user's words kept."""
    return normalized.simplify(text)


def words(text: str, ignore: Iterable[str] = ()) -> list[str]:
    """Distinct content words of already normalised text, in order."""
    skip = set(ignore)
    seen: dict[str, None] = {}
    for token in segment(text):
        token = token.strip()
        if token and _WORDISH.search(token) and token not in skip:
            seen.setdefault(token, None)
    return list(seen)


def features(text: str, ignore: Iterable[str] = ()) -> dict[str, float]:
    """Words and character pairs of normalised text -> their weight."""
    skip = set(ignore)
    # Single characters (年, 办) match everywhere; their pairs still count.
    feats = {w: WORD_WEIGHT for w in words(text, skip) if len(w) > 1}
    for run in _HAN_RUN.findall(text):
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if pair not in skip:
                feats.setdefault("~" + pair, PAIR_WEIGHT)
    return feats


class _Index:
    """The plan's citable entries, normalised, with feature rarity computed on demand."""

    def __init__(self, entries: list[Entry]) -> None:
        self.keys = [e.key for e in entries]
        self.texts = {e.key: normalize(f"{e.title}。{e.text}") for e in entries}
        self.titles = {e.key: normalize(e.title) for e in entries}
        self.departments = {e.key: "、".join(e.departments) for e in entries}
        self.idf = lru_cache(maxsize=IDF_CACHE_SIZE)(self._idf)

    def _idf(self, feature: str) -> float:
        needle = feature.lstrip("~")
        count = sum(
            1 for key in self.keys if needle in self.texts[key] or needle in self.departments[key]
        )
        n = len(self.keys)
        return math.log((n + 1) / (count + 0.5)) if count else 0.0


@lru_cache(maxsize=8)
def _index(kb: KnowledgeBase) -> _Index:
    return _Index([e for e in kb.entries() if e.kind != "document"])


def _overlap(index: _Index, query_features: dict[str, float], text: str) -> float:
    # Substring matching: a question and the plan may segment the same phrase differently.
    return sum(w * index.idf(f) for f, w in query_features.items() if f.lstrip("~") in text)


def entry_scores(kb: KnowledgeBase, query_features: dict[str, float]) -> dict[str, float]:
    """Relevance of every citable entry (not the document facts) to a question."""
    index = _index(kb)
    return {
        key: _overlap(index, query_features, index.texts[key])
        + TITLE_BONUS * _overlap(index, query_features, index.titles[key])
        + DEPARTMENT_WEIGHT * _overlap(index, query_features, index.departments[key])
        for key in index.keys
    }


def sentence_score(kb: KnowledgeBase, query_features: dict[str, float], sentence: str) -> float:
    return _overlap(_index(kb), query_features, normalize(sentence))


def best_sentences(
    kb: KnowledgeBase, entry: Entry, query_features: dict[str, float], most: int = 3
) -> list[str]:
    """The 1-3 sentences of `entry` that answer the question, in document order.

    Keeps the best sentence and those nearly as good; with no overlap at all, the first
    sentence (which states what the item is about).
    """
    sentences = [s for s in (s.strip() for s in entry.sentences) if s]
    if not sentences:
        return [entry.text.strip()]
    scored = [(sentence_score(kb, query_features, s), i) for i, s in enumerate(sentences)]
    top = max(score for score, _ in scored)
    if top <= 0:
        return sentences[:1]
    chosen = sorted(scored, key=lambda si: (-si[0], si[1]))
    keep = [i for score, i in chosen if score >= 0.6 * top][:most]
    return [sentences[i] for i in sorted(keep)]


def entry_text(kb: KnowledgeBase, key: str) -> str:
    """An entry's title and text, normalised once per knowledge base."""
    return _index(kb).texts.get(key, "")


def coverage(kb: KnowledgeBase, words_: list[str], key: str | None) -> tuple[float, float, int]:
    """How much of a question the plan speaks to: the share of its content words found in the
    entry `key`, the share found anywhere in the plan, and how many the plan never uses
    (增值税, 会计科目: a question about something the plan does not say)."""
    if not words_:
        return 0.0, 0.0, 0
    index = _index(kb)
    anywhere = [any(w in text for text in index.texts.values()) for w in words_]
    in_entry = [key is not None and w in index.texts.get(key, "") for w in words_]
    return (
        sum(in_entry) / len(words_),
        sum(anywhere) / len(words_),
        len(words_) - sum(anywhere),
    )
