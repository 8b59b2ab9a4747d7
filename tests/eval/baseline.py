"""The keyword baseline: BM25 over jieba words and character bigrams, top entry.

What a plain search box would cite for a question; `make eval` reports it in the same run so
the assistant's margin over it is measured, not assumed.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import jieba

_HAN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"\w")
K1, B = 1.2, 0.75  # the usual BM25 constants


# Plain jieba with its own dictionary: the project's lexicon (loaded into jieba's global
# tokenizer by knowledge.segment) must not leak into the baseline, or its score would depend on
# what ran before it in the same process.
_JIEBA = jieba.Tokenizer()


def terms(text: str) -> list[str]:
    words = [w for w in _JIEBA.lcut(text) if _WORD.search(w)]
    pairs = [run[i : i + 2] for run in _HAN.findall(text) for i in range(len(run) - 1)]
    return words + ["~" + p for p in pairs]


class BM25:
    def __init__(self, documents: dict[str, str]) -> None:
        self.keys = list(documents)
        self.tf = [Counter(terms(documents[k])) for k in self.keys]
        self.length = [sum(tf.values()) for tf in self.tf]
        self.average = sum(self.length) / len(self.length)
        df = Counter(t for tf in self.tf for t in tf)
        n = len(self.keys)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def top(self, query: str) -> str | None:
        q = set(terms(query))
        best, best_score = None, 0.0
        for key, tf, length in zip(self.keys, self.tf, self.length):
            score = sum(
                self.idf[t] * tf[t] * (K1 + 1) / (tf[t] + K1 * (1 - B + B * length / self.average))
                for t in q
                if t in tf
            )
            if score > best_score:
                best, best_score = key, score
        return best
