"""The one ranker of the plan's entries for a person's words: the chat and the console use it.

Two views of the same words, kept side by side so the answer decision can weigh them:
`relevance` (rarity-weighted overlap of words and character pairs with an entry's text, title
and departments; robust to how a phrase is split) and `fts` (the full-text index's bm25 with
coverage, as a share of the best hit). Entries are ordered by relevance, full-text search
breaking ties; the order does not depend on any trained model, so the console can rank without
Rasa and the answer decision reranks the same candidates with what Rasa understood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge import relevance
from knowledge.lexicon import get_lexicon
from knowledge.store import KnowledgeBase
from knowledge.yaml_files import load_yaml

# What a question can be answered with: items and safeguards (targets and the document
# facts are answered by their own replies).
CITABLE_KINDS = ("item", "safeguard")
# Entries fetched from the full-text index; every citable entry fits.
FTS_LIMIT = 30
GENERIC_PATH = Path(__file__).with_name("topics.yml")


@dataclass(frozen=True)
class Ranked:
    key: str
    relevance: float  # idf-weighted overlap (0 when nothing of the words is in the entry)
    fts: float  # bm25 with coverage, as a share of the best full-text hit (0..1)
    bm25: float = 0.0  # Okapi BM25 over words and character pairs, as a share of the best (0..1)

    @property
    def score(self) -> float:
        return self.relevance + self.fts


@lru_cache(maxsize=1)
def generic_words() -> frozenset[str]:
    """Words that carry no topic of their own (什么, 政策, 残疾人 …), from topics.yml."""
    data = load_yaml(GENERIC_PATH)
    return frozenset(str(w) for w in data["generic"])


@lru_cache(maxsize=1)
def _department_names() -> tuple[str, ...]:
    """Every name of a responsible department (市残联, 残联, 惨联 …), longest first."""
    lexicon = get_lexicon()
    names = {n for c in lexicon.concepts("department") for n in lexicon.entity_names(c)}
    return tuple(sorted(names, key=len, reverse=True))


def _without_departments(text: str) -> str:
    for name in _department_names():
        text = text.replace(name, " ")
    return text


def question_features(text: str, ignore: frozenset[str] = frozenset()) -> dict[str, float]:
    """Content words and character pairs of a question: its own words (技术培训 as written)
    and their normalised form (看不见 -> 盲人).

    Departments named are left out: 市残联 takes part in nearly every item, so "想请残联帮帮我"
    says who the person turns to, not what they need (a question about a department's duties
    is the department route's, which reads the entity)."""
    skip = generic_words() | ignore
    return {
        **relevance.features(_without_departments(relevance.simplify(text)), ignore=skip),
        **relevance.features(_without_departments(relevance.normalize(text)), ignore=skip),
    }


def rank(
    kb: KnowledgeBase,
    text: str,
    kinds: tuple[str, ...] = CITABLE_KINDS,
    features: dict[str, float] | None = None,
) -> list[Ranked]:
    """Every entry of `kinds`, best first, for the words `text`."""
    feats = question_features(text) if features is None else features
    raw = relevance.entry_scores(kb, feats) if feats else {}
    query = _without_departments(relevance.normalize(text))
    hits = kb.search(query, limit=FTS_LIMIT, kinds=kinds) if feats else []
    best = hits[0].score if hits else 1.0
    fts = {h.entry.key: h.score / best for h in hits}
    okapi = _bm25(kb, kinds).scores(list(feats)) if feats else {}
    top_okapi = max(okapi.values(), default=0.0) or 1.0
    ranked = [
        Ranked(e.key, raw.get(e.key, 0.0), fts.get(e.key, 0.0), okapi.get(e.key, 0.0) / top_okapi)
        for e in kb.entries()
        if e.kind in kinds
    ]
    ranked.sort(key=lambda r: (-r.relevance, -r.fts))
    return ranked


# --- Okapi BM25 over the same features --------------------------------------------------------

K1, B = 1.2, 0.75  # the usual BM25 constants


class _Okapi:
    """BM25 of the entries' normalised text, with the question's features (words and "~" pairs)
    as terms: a third view, length-normalised, that neither of the others gives."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.length = {k: len(t) for k, t in texts.items()}
        self.average = sum(self.length.values()) / max(len(texts), 1)
        # Per index, bounded: questions bring any number of words the plan never uses.
        self._stats = lru_cache(maxsize=4096)(self._term_stats)

    def _term_stats(self, term: str) -> tuple[float, dict[str, int]]:
        needle = term.lstrip("~")
        tf = {k: t.count(needle) for k, t in self.texts.items() if needle in t}
        n = len(self.texts)
        idf = math.log(1 + (n - len(tf) + 0.5) / (len(tf) + 0.5))
        return idf, tf

    def scores(self, terms: list[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for term in terms:
            idf, tf = self._stats(term)
            for key, f in tf.items():
                norm = K1 * (1 - B + B * self.length[key] / self.average)
                out[key] = out.get(key, 0.0) + idf * f * (K1 + 1) / (f + norm)
        return out


@lru_cache(maxsize=8)
def _bm25(kb: KnowledgeBase, kinds: tuple[str, ...]) -> _Okapi:
    return _Okapi(
        {
            e.key: relevance.normalize(f"{e.title}。{e.text}")
            for e in kb.entries()
            if e.kind in kinds
        }
    )
