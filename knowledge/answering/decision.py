"""The answer decision: answer with entry X, ask back, give an overview, or say "not covered".

Two logistic models fitted on the development set (`knowledge.answering.fitting`, run by
`make`, kept beside the trained Rasa model as `models/decision.json`):

* the **route** model takes Rasa's whole intent ranking (DIET's, and the words classifier's
  second opinion), the ranker's view of the words and the cues on the face of the question,
  and picks what kind of reply is due: `entry`,
  `out_of_scope`, `overview`, `department`, `document`, `targets`, `handoff`, `clarify` or
  `smalltalk`;
* the **entry** model (a conditional logit) scores each citable entry for the question
  (ranker scores, how much of Rasa's intent probability points at the entry, the plan's terms
  and entities found in it); a softmax over the candidates gives each its probability, and
  the best one is the answer.

Both read the development text model's probabilities too (`text_model.py`: what the development
questions' own labels teach about words like these), kept in the same file. The decision is plain
arithmetic over the stored coefficients (no scikit-learn at run time).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from knowledge import relevance
from knowledge.answering import cues, details
from knowledge.answering.question import STORY_LENGTH, Question
from knowledge.answering.text_model import TextModel
from knowledge.errors import KnowledgeError
from knowledge.lexicon import get_lexicon
from knowledge.ranking import Ranked, rank
from knowledge.store import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = ROOT / "models" / "decision.json"
ROUTES = (
    "entry",
    "out_of_scope",
    "overview",
    "department",
    "document",
    "targets",
    "handoff",
    "clarify",
    "smalltalk",
)


class DecisionMissing(KnowledgeError):
    """models/decision.json has not been fitted (run `make setup`)."""


def default_path() -> Path:
    return Path(os.environ.get("DECISION_MODEL") or DEFAULT_PATH)


# --- features -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """Everything the decision looks at for one question, computed once."""

    question: Question
    ranked: list[Ranked]  # citable entries, best first by the ranker
    route: dict[str, float]  # route features
    # The development text model's probabilities (label -> p: entry suffix or reply kind).
    text: dict[str, float] = field(default_factory=dict)


def _log(x: float) -> float:
    return math.log1p(max(x, 0.0))


def gather(kb: KnowledgeBase, question: Question) -> Evidence:
    ranked = rank(kb, question.said) if question.said else []
    top = ranked[0] if ranked else None
    second = ranked[1] if len(ranked) > 1 else None
    asked = cues.asks_for_amount(question.asked, question.intent) if question.said else None
    top_text = kb.entry(top.key).text if top is not None else ""
    content = [w for w in relevance.words(question.normalized, cues.topics().generic) if len(w) > 1]
    cov_top, cov_plan, unknown = relevance.coverage(kb, content, top.key if top else None)
    route = intent_groups(question)
    route.update(
        {
            "rank:top": _log(top.relevance) if top else 0.0,
            "rank:gap": _log(top.relevance - second.relevance) if top and second else 0.0,
            "rank:fts": float(bool(top and top.fts > 0)),
            "rank:matches": _log(sum(1 for r in ranked if r.relevance > 0)),
            "cue:other_scheme": float(bool(cues.out_of_scope_subjects(question))),
            "cue:other_place": float(bool(cues.other_places(question))),
            "cue:elsewhere_only": float(cues.elsewhere_only(question)),
            "cue:amount_money": float(asked == "money"),
            "cue:amount_number": float(asked == "number"),
            "cue:amount_missing": float(
                asked is not None and bool(top_text) and not cues.states_amount(top_text, asked)
            ),
            "cue:department": float(bool(question.entities.get("department"))),
            "cue:duties": float(cues.asks_duties(question)),
            "cue:broad": float(cues.asks_broadly(question)),
            "cue:document_fact": float(cues.document_fact(question.asked_normalized) is not None),
            "cue:phone": float(cues.asks_for_phone(question.asked)),
            "cue:money_words": float(any(w in question.normalized for w in cues.MONEY_WORDS)),
            "cue:subsidy_kind": float(cues.subsidy_kind(question) is not None),
            "cue:detail": float(cues.asks_detail(question)),
            **details.detail_inputs(question, top_text),
            "cue:how_to": float(cues.asks_how_to(question)),
            "cov:top": cov_top,
            "cov:plan": cov_plan,
            "cov:unknown": _log(unknown),
            "cov:none": float(not content),
            "len:log": _log(len(question.said)),
            "len:story": float(len(question.said) >= STORY_LENGTH),
        }
    )
    return Evidence(question, ranked, route)


# The text model's reply kinds the route reads, "not covered" among them: on 5,716 questions it
# took the cross-validated misses from 247 to 193. It reads where or when to sign up for an exam
# (盲人按摩考试在哪报名) as not covered, which is the plan's rule for procedures it does not state;
# the reply offers item 13, which names who runs the exam, as a button.
_REPLY_KINDS = ("smalltalk", "handoff", "overview", "department", "targets", "document", "clarify")
ROUTE_TEXT = (*_REPLY_KINDS, "out_of_scope")


def with_text(evidence: Evidence, probabilities: dict[str, float]) -> Evidence:
    """The evidence with the development text model's probabilities (text_model.py): every
    label's for the entry model, the reply kinds above for the route model."""
    route = dict(evidence.route)
    route.update({f"text:{kind}": probabilities.get(kind, 0.0) for kind in ROUTE_TEXT})
    return Evidence(evidence.question, evidence.ranked, route, probabilities)


# Rasa's intents in groups that mean one kind of reply; the topic intents share one group, so
# the route does not depend on which topic (the entry model looks at that).
_GROUPS = {
    "smalltalk": ("greet", "thanks", "goodbye"),
    "followup": ("ask_responsible", "ask_detail", "ask_more"),
    "human": ("ask_human",),
    "out_of_scope": ("out_of_scope",),
    "department": ("ask_department",),
    "document": ("ask_document",),
    "targets": ("ask_targets",),
    "item": ("ask_item",),
    "subsidy": ("ask_subsidy",),
    "overview": ("ask_overview", "check_situation", "inform_situation"),
    "fallback": ("nlu_fallback",),
}


def intent_groups(question: Question) -> dict[str, float]:
    """Both intent rankings (DIET's and the words classifier's) summed by group, with each
    one's top confidence."""
    groups = _grouped("intent", question.ranking)
    groups["intent:top"] = top_understood(question)[1]
    groups.update(_grouped("words", question.words_ranking))
    groups["words:top"] = max((c for _, c in question.words_ranking), default=0.0)
    return groups


def _grouped(prefix: str, ranking: tuple[tuple[str, float], ...]) -> dict[str, float]:
    named = {i for group in _GROUPS.values() for i in group}
    probs = dict(ranking)
    groups = {
        f"{prefix}:{name}": sum(probs.get(i, 0.0) for i in intents)
        for name, intents in _GROUPS.items()
    }
    groups[f"{prefix}:topic"] = sum(p for i, p in probs.items() if i not in named)
    return groups


def _support(
    doc: str, ranking: tuple[tuple[str, float], ...], top_intent: str | None
) -> tuple[dict[str, float], str | None]:
    """How much of a ranking's probability points at each entry (an intent's candidate entries,
    in order, share its probability), and the first candidate of `top_intent`."""
    support: dict[str, float] = {}
    first: str | None = None
    for name, conf in ranking:
        for position, suffix in enumerate(cues.topics().candidates.get(name, [])):
            key = f"{doc}#{suffix}"
            support[key] = support.get(key, 0.0) + conf / (1 + position)
            if name == top_intent and position == 0:
                first = key
    return support, first


def top_understood(question: Question) -> tuple[str, float]:
    """Rasa's best real intent and its confidence: FallbackClassifier's nlu_fallback only marks
    a weak top intent, which is still the best guess of what was asked."""
    for name, confidence in question.ranking:
        if name != "nlu_fallback":
            return name, confidence
    return question.intent, question.confidence


def entry_features(kb: KnowledgeBase, evidence: Evidence) -> dict[str, dict[str, float]]:
    """Features of every candidate entry for the question (key -> features)."""
    question = evidence.question
    ranked = evidence.ranked
    best = max((r.relevance for r in ranked), default=0.0)
    top_intent, top_conf = top_understood(question)
    kind = cues.subsidy_kind(question)
    doc = kb.document().number
    kind_key = f"{doc}#{kind['entry']}" if kind else None
    support, first_of_top = _support(doc, question.ranking, top_intent)
    words_top = question.words_ranking[0][0] if question.words_ranking else None
    words_support, words_first = _support(doc, question.words_ranking, words_top)
    values = [
        v for name in ("group", "disability", "topic") for v in question.entities.get(name, [])
    ]
    top_list = [f"{doc}#{s}" for s in cues.topics().candidates.get(top_intent, [])]
    top_candidates = set(top_list)
    terms = [w for w in relevance.words(question.normalized) if w in _domain_terms()]
    # 补贴 and 钱 are too common to rank by, but a question about money is answered by an entry
    # that speaks of money.
    about_money = any(w in question.normalized for w in cues.MONEY_WORDS)
    features = {}
    for position, r in enumerate(ranked):
        text = relevance.entry_text(kb, r.key)
        hits = sum(1 for t in terms if t in text)
        share = r.relevance / best if best > 0 else 0.0
        in_top = r.key in top_candidates
        features[r.key] = {
            "rel:share": share,
            "rel:log": _log(r.relevance),
            "rel:first": float(position == 0),
            "fts": r.fts,
            "bm25": r.bm25,
            "intent:support": support.get(r.key, 0.0),
            "intent:top_first": float(r.key == first_of_top),
            "text:prob": evidence.text.get(r.key.rpartition("#")[2], 0.0),
            "words:support": words_support.get(r.key, 0.0),
            "words:top_first": float(r.key == words_first),
            # Interactions: a sure intent outweighs the words, unsure NLU leaves them to decide.
            "intent:sure_candidate": top_conf * in_top,
            # The top intent names this entry alone (ask_supported_employment -> 6), or ranks it.
            "intent:only": top_conf * (top_list == [r.key]),
            "intent:position": top_conf / (1 + top_list.index(r.key)) if in_top else 0.0,
            "mix:words_if_unsure": share * (1 - top_conf),
            "mix:agree": share * support.get(r.key, 0.0),
            "entities": float(sum(1 for v in values if relevance.normalize(v) in text)),
            # The plan's own terms (lexicon) found in the entry, not any shared word (简单).
            "lex:hits": _log(hits),
            "lex:share": hits / len(terms) if terms else 0.0,
            "subsidy_kind": float(r.key == kind_key),
            "money:match": float(about_money and any(w in text for w in cues.MONEY_WORDS)),
        }
    return features


@lru_cache(maxsize=1)
def _domain_terms() -> frozenset[str]:
    return frozenset(get_lexicon().words())


# --- the fitted models ----------------------------------------------------------------------


@dataclass(frozen=True)
class Linear:
    """A fitted logistic model: classes, feature names, coefficients and intercepts."""

    classes: list[str]
    features: list[str]
    coef: list[list[float]]  # one row per class (one row only for a binary model)
    intercept: list[float]

    def scores(self, values: dict[str, float]) -> dict[str, float]:
        x = [values.get(name, 0.0) for name in self.features]
        raw = [sum(c * v for c, v in zip(row, x)) + b for row, b in zip(self.coef, self.intercept)]
        if len(self.classes) == 2 and len(raw) == 1:
            return {self.classes[1]: raw[0], self.classes[0]: -raw[0]}
        return dict(zip(self.classes, raw))

    def probabilities(self, values: dict[str, float]) -> dict[str, float]:
        scores = self.scores(values)
        if len(self.classes) == 2:
            p = 1 / (1 + math.exp(-scores[self.classes[1]]))
            return {self.classes[1]: p, self.classes[0]: 1 - p}
        top = max(scores.values())
        exp = {k: math.exp(v - top) for k, v in scores.items()}
        total = sum(exp.values())
        return {k: v / total for k, v in exp.items()}

    def to_dict(self) -> dict:
        return {
            "classes": self.classes,
            "features": self.features,
            "coef": self.coef,
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Linear:
        return cls(data["classes"], data["features"], data["coef"], data["intercept"])


@dataclass(frozen=True)
class Decision:
    route: Linear
    entry: Linear
    report: dict  # how it was fitted: data sizes, cross-validated scores, chosen settings
    # Staff's labels by wording (knowledge/answering/remembered.py); none before any review.
    remembered: dict[str, str] = field(default_factory=dict)
    text: TextModel | None = None  # the development text model (text_model.py)

    def to_json(self) -> str:
        return json.dumps(
            {
                "route": self.route.to_dict(),
                "entry": self.entry.to_dict(),
                "report": self.report,
                "remembered": self.remembered,
                "text": self.text.to_dict() if self.text is not None else None,
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Decision:
        data = json.loads(text)
        return cls(
            Linear.from_dict(data["route"]),
            Linear.from_dict(data["entry"]),
            data["report"],
            data.get("remembered") or {},
            TextModel.from_dict(data["text"]) if data.get("text") else None,
        )


@lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> Decision:
    return Decision.from_json(path.read_text(encoding="utf-8"))


def open_decision(path: str | os.PathLike | None = None) -> Decision:
    """The fitted decision (reloaded when the file changes); DecisionMissing if not fitted."""
    file = Path(path) if path is not None else default_path()
    try:
        mtime = file.stat().st_mtime
    except FileNotFoundError:
        raise DecisionMissing(f"没有找到回答决策模型 {file}：请先运行 make setup") from None
    return _load(file, mtime)


# --- choosing -------------------------------------------------------------------------------


def unstated_amount(question: Question, entry_text: str) -> bool:
    """The question asks for an amount (money, a number) that the entry does not state: the
    plan does not say, whatever the route (a fact of the text, not a weighed choice)."""
    asked = cues.asks_for_amount(question.asked, question.intent) if question.said else None
    return asked is not None and not cues.states_amount(entry_text, asked)


@dataclass(frozen=True)
class Choice:
    route: str
    route_probability: float
    entries: list[tuple[str, float]]  # candidate entries with the entry model's probability
    ranked: list[Ranked]  # the ranker's view of the words (citable entries, best first)


def choose(kb: KnowledgeBase, question: Question, decision: Decision) -> Choice:
    """The route and the entries, best first, for a question in words."""
    evidence = gather(kb, question)
    if decision.text is not None and question.said:
        evidence = with_text(evidence, decision.text.probabilities(question.said))
    routes = decision.route.probabilities(evidence.route)
    route = max(routes, key=routes.get)
    return Choice(route, routes[route], rank_entries(kb, evidence, decision), evidence.ranked)


def rank_entries(
    kb: KnowledgeBase, evidence: Evidence, decision: Decision
) -> list[tuple[str, float]]:
    """Every candidate entry with its probability of being the answer (a softmax over the
    question's candidates), best first."""
    features = entry_features(kb, evidence)
    yes = decision.entry.classes[1]
    scores = {key: decision.entry.scores(values)[yes] for key, values in features.items()}
    if not scores:
        return []
    top = max(scores.values())
    exp = {key: math.exp(s - top) for key, s in scores.items()}
    total = sum(exp.values())
    order = {r.key: i for i, r in enumerate(evidence.ranked)}
    return sorted(((k, v / total) for k, v in exp.items()), key=lambda kp: (-kp[1], order[kp[0]]))
