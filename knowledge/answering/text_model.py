"""What the development questions' own labels teach about people's words.

Rasa's intents are coarser than the plan's entries (ask_employment_service covers items 15-19)
and are learned from the training set. This model learns from the development set's labels
(an entry's suffix, or a kind of reply: out_of_scope, overview, …) which entry or reply words
like these were owed: TF-IDF over jieba words and character 1-3-grams, a multinomial logistic
regression. Its probabilities are inputs of the answer decision, stacked: while the decision
is fitted, each question's probabilities come from a model fitted without its fold.

Stored inside models/decision.json (vocabulary, idf, coefficients as float32); applying it is
arithmetic over those arrays, the same function making the terms when fitting and answering.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from knowledge import relevance
from knowledge.segment import segment

# Chosen on the development set (leave one file out, 1,943 questions): C 10; terms seen once
# are dropped (they are names, numbers and typos of one question).
STRENGTH = 10.0
MIN_COUNT = 2


def terms(text: str) -> Counter[str]:
    """Words (jieba with the lexicon) and character 1-3-grams of the simplified text."""
    simplified = relevance.simplify(text).lower()
    found: Counter[str] = Counter("w:" + w for w in segment(simplified) if w.strip())
    chars = "".join(c for c in simplified if not c.isspace())
    for n in (1, 2, 3):
        found.update(chars[i : i + n] for i in range(len(chars) - n + 1))
    return found


@dataclass(frozen=True)
class TextModel:
    vocabulary: dict[str, int]
    idf: np.ndarray  # per term
    classes: list[str]
    coef: np.ndarray  # classes x terms
    intercept: np.ndarray  # per class

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = {self.vocabulary[t]: n for t, n in terms(text).items() if t in self.vocabulary}
        index = np.fromiter(counts, dtype=np.int64, count=len(counts))
        values = np.array([1 + math.log(n) for n in counts.values()]) * self.idf[index]
        norm = float(np.sqrt((values**2).sum()))
        return index, values / norm if norm > 0 else values

    def probabilities(self, text: str) -> dict[str, float]:
        index, values = self._vector(text)
        scores = self.coef[:, index] @ values + self.intercept
        exp = np.exp(scores - scores.max())
        return dict(zip(self.classes, (exp / exp.sum()).tolist()))

    def to_dict(self) -> dict:
        return {
            "vocabulary": sorted(self.vocabulary, key=self.vocabulary.get),
            "classes": self.classes,
            "idf": _encode(self.idf),
            "coef": _encode(self.coef),
            "intercept": _encode(self.intercept),
        }

    @classmethod
    def from_dict(cls, data: dict) -> TextModel:
        vocabulary = {t: i for i, t in enumerate(data["vocabulary"])}
        classes = list(data["classes"])
        coef = _decode(data["coef"]).reshape(len(classes), len(vocabulary))
        return cls(vocabulary, _decode(data["idf"]), classes, coef, _decode(data["intercept"]))


def _encode(array: np.ndarray) -> str:
    return base64.b64encode(np.asarray(array, dtype="<f4").tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


def fit_text_model(texts: Sequence[str], labels: Sequence[str]) -> TextModel:
    # Fitting only (make, the retrain): answering applies the stored arrays, and importing
    # scikit-learn would cost every gateway and action server process about 0.3 s and 40 MB.
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    counted = [terms(t) for t in texts]
    frequency = Counter(t for c in counted for t in c)
    vocabulary = {
        t: i for i, t in enumerate(sorted(t for t, n in frequency.items() if n >= MIN_COUNT))
    }
    documents = Counter(t for c in counted for t in c if t in vocabulary)
    n = len(texts)
    idf = np.zeros(len(vocabulary))
    for t, i in vocabulary.items():
        idf[i] = math.log((1 + n) / (1 + documents[t])) + 1  # scikit-learn's smooth idf
    rows, cols, vals = [], [], []
    for r, c in enumerate(counted):
        index = [vocabulary[t] for t in c if t in vocabulary]
        values = np.array([1 + math.log(c[t]) for t in c if t in vocabulary]) * idf[index]
        norm = float(np.sqrt((values**2).sum())) or 1.0
        rows += [r] * len(index)
        cols += index
        vals += (values / norm).tolist()
    x = csr_matrix((vals, (rows, cols)), shape=(n, len(vocabulary)))
    model = LogisticRegression(C=STRENGTH, max_iter=3000).fit(x, list(labels))
    classes = [str(k) for k in model.classes_]
    coef, intercept = model.coef_, model.intercept_
    if len(classes) == 2:  # a binary model keeps one row: the second class against the first
        coef, intercept = (
            np.vstack([-coef / 2, coef / 2]),
            np.array([-intercept[0] / 2, intercept[0] / 2]),
        )
    return TextModel(vocabulary, idf, classes, coef, intercept)
