"""Fit the answer decision on the development set (scikit-learn, cross-validated).

Input: the development questions with their labels and what the trained Rasa model made of
each (intent ranking, entities). The regularisation of both models is chosen by stratified
5-fold cross-validation on the whole decision (right route and, for an answer, right entry);
the report keeps the data sizes and the cross-validated scores, so anyone can see what the
decision was fitted on and how well it did on questions it had not seen.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from knowledge.answering.decision import (
    ROUTES,
    Decision,
    Evidence,
    Linear,
    entry_features,
    gather,
    unstated_amount,
    with_text,
)
from knowledge.answering.question import Question
from knowledge.answering.respond import answered_by_rules
from knowledge.answering.text_model import fit_text_model
from knowledge.store import KnowledgeBase

# Candidate regularisation strengths (inverse); the one with the best cross-validated score wins.
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
FOLDS = 5
SEED = 20221128
Keep = Callable[[str], bool]


@dataclass(frozen=True)
class Example:
    """A labelled question with what Rasa made of it."""

    text: str
    expect: list[str]  # acceptable labels: key suffixes ("13", "三（二）") or route names
    ranking: list[dict]
    entities: list[dict]
    words_ranking: list[dict] | None = None  # the parse's second opinion, when it has one


def route_of(expect: str) -> str:
    """The route a label needs: an entry suffix -> "entry", target-… -> "targets", …"""
    if expect.startswith("department:"):
        return "department"
    if expect.startswith("target-"):
        return "targets"
    if expect in ROUTES:
        return expect
    return "entry"


def _question(example: Example) -> Question:
    top = example.ranking[0] if example.ranking else {"name": None, "confidence": 0.0}
    return Question.of(
        example.text,
        top["name"],
        top["confidence"],
        example.entities,
        example.ranking,
        example.words_ranking,
    )


def _fit_linear(x: np.ndarray, y: list[str], names: list[str], c: float) -> Linear:
    """A multinomial logistic regression (the route model); routes keep their natural shares,
    since accuracy is what counts."""
    model = LogisticRegression(C=c, max_iter=3000)
    # Standardised inputs, so one regularisation strength suits features of every scale; the
    # scaling is folded back into the coefficients, so applying the model needs no scaler.
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0  # a constant column (its coefficient stays 0)
    model.fit((x - mean) / scale, y)
    coef = model.coef_ / scale
    intercept = model.intercept_ - coef @ mean
    classes = [str(k) for k in model.classes_]
    return Linear(classes, names, coef.round(6).tolist(), intercept.round(6).tolist())


def _matrix(rows: Sequence[dict[str, float]], names: list[str]) -> np.ndarray:
    return np.array([[row.get(n, 0.0) for n in names] for row in rows], dtype=float)


@dataclass
class _Prepared:
    evidence: list[Evidence]
    entries: list[dict[str, dict[str, float]]]
    routes: list[str]
    wanted: list[set[str]]  # acceptable entry keys (empty unless the route is "entry")


def text_label(expect: str) -> str:
    """What the development text model learns for a label: an entry's suffix, or the route."""
    route = route_of(expect)
    return expect if route == "entry" else route


def _stacked_text(examples: Sequence[Example], routes: list[str]) -> list[dict[str, float]]:
    """Each question's text-model probabilities from a model fitted without its fold (the
    folds of the cross-validation, so a held-out question's inputs never saw its label)."""
    texts = [e.text for e in examples]
    labels = [text_label(e.expect[0]) for e in examples]
    out: list[dict[str, float]] = [{} for _ in examples]
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for train, held in folds.split(np.zeros(len(routes)), routes):
        model = fit_text_model([texts[i] for i in train], [labels[i] for i in train])
        for i in held:
            out[i] = model.probabilities(texts[i])
    return out


def _prepare(kb: KnowledgeBase, examples: Sequence[Example]) -> _Prepared:
    doc = kb.document().number
    routes = [route_of(e.expect[0]) for e in examples]
    stacked = _stacked_text(examples, routes)
    plain = [gather(kb, _question(e)) for e in examples]
    # As `choose` does: a button payload says what it asks, no words to read.
    evidence = [
        with_text(ev, probs) if ev.question.said else ev for ev, probs in zip(plain, stacked)
    ]
    return _Prepared(
        evidence=evidence,
        entries=[entry_features(kb, ev) for ev in evidence],
        routes=routes,
        wanted=[{f"{doc}#{s}" for s in e.expect if route_of(s) == "entry"} for e in examples],
    )


def _fit_choice(
    groups: list[dict[str, dict[str, float]]],
    wanted: list[set[str]],
    names: list[str],
    c: float,
) -> Linear:
    """A conditional logit: one weight vector scores every candidate entry of a question, and
    the softmax over a question's candidates is fitted to put its probability on the right
    ones (the log of the summed probability of the acceptable entries, L2-penalised by 1/C).
    Every question has the same candidates (all citable entries), so it is one array."""
    keys = sorted(groups[0])
    x = np.array([[[g[k].get(n, 0.0) for n in names] for k in keys] for g in groups])
    y = np.array([[k in w for k in keys] for w in wanted], dtype=float)
    flat = x.reshape(-1, x.shape[-1])
    mean, scale = flat.mean(axis=0), flat.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ w
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        right = (p * y).sum(axis=1)
        value = -np.log(right + 1e-12).sum() + 0.5 * (w @ w) / c
        # d/dw: expected features under p minus expected features under p restricted to y.
        py = p * y / (right[:, None] + 1e-12)
        grad = ((p - py)[:, :, None] * z).sum(axis=(0, 1)) + w / c
        return value, grad

    w = minimize(loss, np.zeros(len(names)), jac=True, method="L-BFGS-B").x
    coef = w / scale
    return Linear(["no", "yes"], names, [coef.round(6).tolist()], [round(float(-coef @ mean), 6)])


def _fit(p: _Prepared, rows: Sequence[int], c_route: float, c_entry: float, keep: Keep) -> Decision:
    route_names = sorted({n for i in rows for n in p.evidence[i].route if keep(n)})
    route = _fit_linear(
        _matrix([p.evidence[i].route for i in rows], route_names),
        [p.routes[i] for i in rows],
        route_names,
        c_route,
    )
    answered = [i for i in rows if p.wanted[i]]
    entry_names = sorted(
        {n for i in answered for values in p.entries[i].values() for n in values if keep(n)}
    )
    entry = _fit_choice(
        [p.entries[i] for i in answered], [p.wanted[i] for i in answered], entry_names, c_entry
    )
    return Decision(route, entry, {})


def _right(kb: KnowledgeBase, p: _Prepared, i: int, decision: Decision) -> bool:
    """Whether the decision replies as labelled: the route, the entry, and (as `respond` does)
    an amount the chosen entry does not state turning an answer into "not covered"."""
    scores = decision.route.scores(p.evidence[i].route)
    route = max(scores, key=scores.get)
    best = None
    if route == "entry":
        yes = decision.entry.classes[1]
        best = max(p.entries[i], key=lambda k: decision.entry.scores(p.entries[i][k])[yes])
        if unstated_amount(p.evidence[i].question, kb.entry(best).text):
            route = "out_of_scope"
    if route != p.routes[i]:
        return False
    return route != "entry" or best in p.wanted[i]


def _cv_score(kb: KnowledgeBase, p: _Prepared, c_route: float, c_entry: float, keep: Keep) -> float:
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    right = 0
    for train, held in folds.split(np.zeros(len(p.routes)), p.routes):
        decision = _fit(p, train, c_route, c_entry, keep)
        right += sum(_right(kb, p, i, decision) for i in held)
    return right / len(p.routes)


def everything(name: str) -> bool:
    return True


def fit(
    kb: KnowledgeBase,
    examples: Sequence[Example],
    inputs: str = "",
    keep: Keep = everything,
    grid: Sequence[float] = C_GRID,
    strengths: tuple[float, float] | None = None,
) -> Decision:
    """The decision fitted on all `examples`, its settings chosen by cross-validation.

    `keep` selects the features used (for the ablations of `make eval`). The entry model's
    strength is chosen first (with the route model at C=1), then the route model's. With
    `strengths` (route C, entry C) nothing is chosen: a retrain refits with the running
    decision's strengths, so only the data moves the decision.
    """
    # Phone requests and references are answered by rules before the decision is asked.
    decided = [e for e in examples if not answered_by_rules(kb, _question(e))]
    p = _prepare(kb, decided)
    scores: dict[str, float] = {}
    if strengths is not None:
        c_route, c_entry = strengths
    else:
        for c in grid:
            scores[f"entry C={c}"] = _cv_score(kb, p, 1.0, c, keep)
        c_entry = max(grid, key=lambda c: scores[f"entry C={c}"])
        for c in grid:
            scores[f"route C={c}"] = _cv_score(kb, p, c, c_entry, keep)
        c_route = max(grid, key=lambda c: scores[f"route C={c}"])
    decision = _fit(p, range(len(decided)), c_route, c_entry, keep)
    text = fit_text_model([e.text for e in decided], [text_label(e.expect[0]) for e in decided])
    report = {
        "examples": len(decided),
        "answered_by_rules": len(examples) - len(decided),
        "routes": dict(sorted(Counter(p.routes).items())),
        "c_route": c_route,
        "c_entry": c_entry,
        "cv_accuracy": round(scores[f"route C={c_route}"], 4) if scores else None,
        "cv_scores": {k: round(v, 4) for k, v in scores.items()},
        "inputs": inputs,
    }
    uses_text = any(name.startswith("text:") for name in decision.entry.features)
    return Decision(decision.route, decision.entry, report, text=text if uses_text else None)


def inputs_digest(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:16]
