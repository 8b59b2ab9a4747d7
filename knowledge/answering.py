"""Answer a question from the plan: the one answering path of the dialogue, the eval and tests.

`respond` takes what the NLU understood (intent, confidence, entities) and the conversation
(`Context`) and returns an `Answer` quoted word for word from the knowledge base, with its
sources, buttons and hand-off flag. It never invents a fact: every sentence shown is a
sentence of the plan or fixed wording from `knowledge.wording`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge import relevance, wording
from knowledge.errors import NotFound
from knowledge.store import Entry, KnowledgeBase, open_kb

TOPICS_PATH = Path(__file__).with_name("topics.yml")

# Below this an intent is a guess: offer candidates instead of answering.
WEAK_CONFIDENCE = 0.4
# Relevance (idf-weighted overlap) of about one distinctive word of the plan.
MIN_RELEVANCE = 2.0
# Relevance of a clear match (several distinctive words).
STRONG_RELEVANCE = 6.0
# How strongly a confident intent pulls its candidate entries ahead of an open search
# (times the squared confidence: a middling intent gives way to a clear match in the words).
INTENT_PULL = 1.5
# Intents answered without looking at the words (targets, document facts) need more certainty.
FIXED_ANSWER_CONFIDENCE = 0.6
# A named kind of subsidy pulls its entry ahead of the other subsidy entries.
SUBSIDY_PULL = 0.5
# "还有别的吗" prefers the other items of the same action (13 -> 14).
SIBLING_PULL = 0.5
SEARCH_PULL = 0.3

SMALL_TALK = {"greet": "utter_greet", "thanks": "utter_thanks", "goodbye": "utter_goodbye"}
FOLLOW_UPS = {"ask_responsible", "ask_detail", "ask_more"}
CITABLE_KINDS = ("item", "safeguard")

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ITEM_REF = re.compile(r"第\s*([0-9]{1,2}|[一二三四五六七八九十两廿]{1,3})\s*[条项点]")
_SAFEGUARD_REF = re.compile(r"三\s*[（(]\s*([一二三四])\s*[）)]")


@dataclass
class Context:
    """The conversation so far, from the slots last_keys / last_query / shown_keys."""

    last_keys: list[str] = field(default_factory=list)
    last_query: str | None = None
    shown_keys: list[str] = field(default_factory=list)


@dataclass
class Answer:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    handoff: bool = False
    kind: str = "answer"
    keys: list[str] = field(default_factory=list)
    query: str | None = None
    # Name of the domain response (domain.yml) that carries `text`, for fixed replies.
    response: str | None = None


@dataclass(frozen=True)
class _Topics:
    candidates: dict[str, list[str]]
    subsidies: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    out_of_scope_places: list[str]
    out_of_scope_subjects: list[str]
    generic: frozenset[str]
    follow_up: frozenset[str]


@lru_cache(maxsize=1)
def topics() -> _Topics:
    data = yaml.safe_load(TOPICS_PATH.read_text(encoding="utf-8"))
    return _Topics(
        candidates={k: [str(s) for s in v] for k, v in data["candidates"].items()},
        subsidies=data["subsidies"],
        targets=data["targets"],
        out_of_scope_places=[str(w) for w in data["out_of_scope_places"]],
        out_of_scope_subjects=[str(w) for w in data["out_of_scope_subjects"]],
        generic=frozenset(str(w) for w in data["generic"]),
        follow_up=frozenset(str(w) for w in data["follow_up"]),
    )


def respond(
    text: str,
    intent: str | None,
    confidence: float | None,
    entities: list[dict] | None = None,
    context: Context | None = None,
    kb: KnowledgeBase | None = None,
) -> Answer:
    """The reply to one user turn. Raises KnowledgeBaseMissing only when the KB is not built."""
    kb = kb if kb is not None else open_kb()
    question = _Question.of(text, intent, confidence, entities or [])
    context = context or Context()
    name = question.intent

    if name in SMALL_TALK:
        reply = wording.RESPONSES[SMALL_TALK[name]]
        return Answer(reply, kind="smalltalk", response=SMALL_TALK[name])
    if name == "ask_human":
        return hand_off()
    if name == "out_of_scope" or _mentions_out_of_scope(kb, question):
        return out_of_scope()
    if name in FOLLOW_UPS:
        return _follow_up(kb, question, context)
    if name == "ask_department":
        return _department(kb, question)
    if name == "ask_item":
        return _item(kb, question)
    if name == "ask_document" and question.confidence >= FIXED_ANSWER_CONFIDENCE:
        return _document(kb)
    if name == "ask_targets" and question.confidence >= FIXED_ANSWER_CONFIDENCE:
        return _targets(kb, question)
    if name == "ask_subsidy" or _asks_about_money(kb, question):
        return _subsidy(kb, question)
    if name in topics().candidates and question.confidence >= WEAK_CONFIDENCE:
        return _policy(kb, question)
    if name == "nlu_fallback" and _department_named(kb, question):
        return _department(kb, question)
    return _candidates(kb, question)


def _asks_about_money(kb: KnowledgeBase, question: _Question) -> bool:
    """A subsidy question under another intent: a named kind, or money in general.

    (自主创业有什么补贴 is about the start-up subsidy; 能领什么钱 has to be asked about.)
    """
    if not any(word in question.normalized for word in _MONEY):
        return False
    if _subsidy_kind(question) is not None:
        return True
    return not _about_the_plan(kb, question, _subsidy_words() | frozenset(_MONEY))


def _subsidy_words() -> frozenset[str]:
    return frozenset(w for k in topics().subsidies for w in k["words"])


# --- the question -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Question:
    text: str
    normalized: str  # the words of the plan, entity values included
    intent: str
    confidence: float
    entities: dict[str, list[str]]
    features: dict[str, float]  # content words and character pairs

    @classmethod
    def of(
        cls, text: str, intent: str | None, confidence: float | None, entities: list[dict]
    ) -> _Question:
        values: dict[str, list[str]] = {}
        for e in entities:
            if e.get("entity") and e.get("value") is not None:
                values.setdefault(e["entity"], []).append(str(e["value"]))
        # Button payloads ("/ask_item{...}") carry no words of their own.
        said = "" if text.strip().startswith("/") else text
        extra = [
            v
            for name in ("group", "disability", "topic", "department")
            for v in values.get(name, [])
            if v not in said
        ]
        normalized = relevance.normalize(" ".join([said, *extra]).strip())
        # The user's own words count too where the plan uses them literally
        # (技术培训 in 实用技术培训), besides their normalised form.
        feats = {
            **relevance.features(relevance.simplify(said), ignore=topics().generic),
            **relevance.features(normalized, ignore=topics().generic),
        }
        return cls(
            text, normalized, intent or "nlu_fallback", float(confidence or 0.0), values, feats
        )

    def without(self, ignore: frozenset[str]) -> dict[str, float]:
        return relevance.features(self.normalized, ignore=topics().generic | ignore)


def _mentions_out_of_scope(kb: KnowledgeBase, question: _Question) -> bool:
    """Another place, or another scheme with nothing else in the question about the plan."""
    said = question.normalized
    if any(word in said or word in question.text for word in topics().out_of_scope_places):
        return True
    subjects = [w for w in topics().out_of_scope_subjects if w in said or w in question.text]
    if not subjects:
        return False
    return not _about_the_plan(kb, question, frozenset(subjects))


def _about_the_plan(kb: KnowledgeBase, question: _Question, ignore: frozenset[str]) -> bool:
    """Whether the question's own words (not `ignore`) clearly point at an entry of the plan."""
    feats = question.without(ignore)
    words = {
        f: w
        for f, w in feats.items()
        if not f.startswith("~") and not any(f in word or word in f for word in ignore)
    }
    return max(relevance.entry_scores(kb, words).values(), default=0.0) >= MIN_RELEVANCE


_MONEY = ("补贴", "补助", "钱", "奖励", "资助")


# --- ranking ------------------------------------------------------------------------------


def _doc_key(kb: KnowledgeBase, suffix: str) -> str:
    return f"{kb.document().number}#{suffix}"


def _rank(
    kb: KnowledgeBase,
    question: _Question,
    candidates: list[str],
    features: dict[str, float] | None = None,
    boost: dict[str, float] | None = None,
) -> list[tuple[str, float, float]]:
    """(key, combined score, raw relevance) for every citable entry, best first.

    The intent's candidates are pulled ahead in proportion to the intent's confidence; the
    overlap with the plan's words and the knowledge-base search order them.
    """
    feats = question.features if features is None else features
    raw = relevance.entry_scores(kb, feats)
    allowed = {e.key for e in kb.entries() if e.kind in CITABLE_KINDS}
    # Scaled by the best match, but weak evidence is not blown up to a full match.
    top = max(max((raw[k] for k in allowed), default=0.0), STRONG_RELEVANCE)
    hits = kb.search(question.normalized, limit=8, kinds=CITABLE_KINDS) if feats else []
    best_hit = hits[0].score if hits else 1.0
    search_bonus = {h.entry.key: h.score / best_hit for h in hits}
    pull = INTENT_PULL * question.confidence**2
    boost = boost or {}
    ranked = []
    for key in allowed:
        score = raw[key] / top + SEARCH_PULL * search_bonus.get(key, 0.0) + boost.get(key, 0.0)
        if key in candidates:
            score += pull - 0.05 * candidates.index(key)
        ranked.append((key, score, raw[key]))
    ranked.sort(key=lambda r: -r[1])
    return ranked


def _candidate_keys(kb: KnowledgeBase, intent: str) -> list[str]:
    return [_doc_key(kb, s) for s in topics().candidates.get(intent, [])]


# --- answers quoted from the plan ----------------------------------------------------------


def _quote(
    kb: KnowledgeBase, entry: Entry, features: dict[str, float], query: str, lead: str = ""
) -> Answer:
    sentences = relevance.best_sentences(kb, entry, features)
    lines = [lead + wording.ANSWER_LEAD + "".join(sentences), _basis(entry)]
    if entry.departments:
        lines.append(_departments_line(entry))
    lines.append(wording.PERIOD_LINE)
    return Answer(
        "\n".join(lines),
        buttons=[wording.BUTTON_DETAIL, wording.BUTTON_RESPONSIBLE, wording.BUTTON_MORE],
        sources=[entry.source()],
        kind="answer",
        keys=[entry.key],
        query=query,
    )


def _basis(entry: Entry) -> str:
    return wording.BASIS.format(document=entry.document, ref=wording.readable_ref(entry.ref))


def _departments_line(entry: Entry) -> str:
    return wording.DEPARTMENTS.format(
        departments=wording.DEPARTMENT_SEPARATOR.join(entry.departments)
    )


def _policy(kb: KnowledgeBase, question: _Question) -> Answer:
    ranked = _rank(kb, question, _candidate_keys(kb, question.intent))
    return _quote(kb, kb.entry(ranked[0][0]), question.features, question.text)


def _subsidy(kb: KnowledgeBase, question: _Question) -> Answer:
    """A named subsidy is answered; subsidies in general are asked about first."""
    kind = _subsidy_kind(question)
    if kind is not None:
        key = _doc_key(kb, str(kind["entry"]))
        # The kind's own words are accounted for by its pull; the rest of the question ranks.
        rest = question.without(frozenset(kind["words"]))
        ranked = _rank(
            kb,
            question,
            _candidate_keys(kb, "ask_subsidy"),
            features=rest,
            boost={key: SUBSIDY_PULL},
        )
        feats = {**question.features, **relevance.features(relevance.normalize(kind["topic"]))}
        return _quote(kb, kb.entry(ranked[0][0]), feats, question.text)
    if _about_the_plan(kb, question, _subsidy_words() | frozenset(_MONEY)):
        if question.confidence < WEAK_CONFIDENCE:
            return _candidates(kb, question)
        return _policy(kb, question)
    return clarify_subsidy(kb)


def _subsidy_kind(question: _Question) -> dict[str, Any] | None:
    said = " ".join([question.normalized, *question.entities.get("topic", [])])
    best, best_len = None, 0
    for kind in topics().subsidies:
        matched = sum(len(word) for word in kind["words"] if word in said)
        if matched > best_len:
            best, best_len = kind, matched
    return best


def clarify_subsidy(kb: KnowledgeBase) -> Answer:
    buttons = [
        {
            "title": kind["title"],
            "payload": _item_payload(_doc_key(kb, str(kind["entry"])), kind["topic"]),
        }
        for kind in topics().subsidies
    ]
    return Answer(wording.SUBSIDY_CLARIFY, buttons=buttons, kind="clarify")


def _item_payload(key: str, topic: str | None = None) -> str:
    slots = {"entry": key} if topic is None else {"entry": key, "topic": topic}
    return "/ask_item" + json.dumps(slots, ensure_ascii=False, separators=(",", ":"))


def _candidates(kb: KnowledgeBase, question: _Question) -> Answer:
    """A weak guess: offer the two best entries, or say nothing fits and hand off."""
    ranked = _rank(kb, question, _candidate_keys(kb, question.intent))
    good = [key for key, _, raw in ranked if raw >= MIN_RELEVANCE][:2]
    if not good:
        return no_answer()
    entries = [kb.entry(k) for k in good]
    buttons = [
        {"title": f"{wording.readable_ref(e.ref)} {e.title}", "payload": _item_payload(e.key)}
        for e in entries
    ]
    return Answer(
        wording.CANDIDATES_LEAD,
        buttons=buttons,
        kind="candidates",
        sources=[e.source() for e in entries],
        keys=[],
        query=question.text,
    )


# --- follow-ups ---------------------------------------------------------------------------


def _follow_up(kb: KnowledgeBase, question: _Question, context: Context) -> Answer:
    entry = _new_topic(kb, question)
    query = question.text if entry is not None else context.last_query
    if entry is None and context.last_keys:
        entry = _entry_or_none(kb, context.last_keys[0])
    if question.intent == "ask_more":
        return _more(kb, context, entry)
    if entry is None:
        return Answer(wording.NO_CONTEXT, kind="no_answer")
    if question.intent == "ask_detail":
        return _detail(entry, query)
    return _responsible(entry, query)


def _new_topic(kb: KnowledgeBase, question: _Question) -> Entry | None:
    """A follow-up that names its own topic (那盲人按摩找谁？) is about that topic."""
    feats = question.without(topics().follow_up)
    words = {f: w for f, w in feats.items() if not f.startswith("~")}
    if not words:
        return None
    ranked = _rank(kb, question, [], features=words)
    key, _, raw = ranked[0]
    return kb.entry(key) if raw >= MIN_RELEVANCE else None


def _entry_or_none(kb: KnowledgeBase, key: str) -> Entry | None:
    try:
        return kb.entry(key)
    except NotFound:
        return None


def _responsible(entry: Entry, query: str | None) -> Answer:
    lead = wording.RESPONSIBLE_LEAD.format(ref=wording.readable_ref(entry.ref), title=entry.title)
    if entry.departments:
        text = (
            lead
            + wording.DEPARTMENT_SEPARATOR.join(entry.departments)
            + "。\n"
            + wording.RESPONSIBLE_TAIL
        )
    else:
        text = wording.NO_DEPARTMENTS.format(
            local=wording.LOCAL_FEDERATION,
            hotline_name=wording.HOTLINE_NAME,
            hotline=wording.HOTLINE,
        )
    return Answer(
        text,
        buttons=[wording.BUTTON_DETAIL, wording.BUTTON_MORE],
        sources=[entry.source()],
        kind="departments",
        keys=[entry.key],
        query=query,
    )


def _detail(entry: Entry, query: str | None) -> Answer:
    lines = [
        wording.DETAIL_LEAD.format(document=entry.document, ref=wording.readable_ref(entry.ref)),
        relevance.strip_department_note(entry.text).strip(),
    ]
    if entry.departments:
        lines.append(_departments_line(entry))
    lines.append(wording.PERIOD_LINE)
    return Answer(
        "\n".join(lines),
        buttons=[wording.BUTTON_RESPONSIBLE, wording.BUTTON_MORE],
        sources=[entry.source()],
        kind="detail",
        keys=[entry.key],
        query=query,
    )


def _more(kb: KnowledgeBase, context: Context, current: Entry | None) -> Answer:
    """The next most relevant entry for the last question that has not been shown yet."""
    query = context.last_query or ""
    question = _Question.of(query, None, 0.0, [])
    shown = set(context.shown_keys) | set(context.last_keys)
    if current is not None:
        shown.add(current.key)
    siblings = _siblings(kb, current)
    ranked = _rank(kb, question, [], boost=dict.fromkeys(siblings, SIBLING_PULL))
    for key, _, raw in ranked:
        if key not in shown and (raw >= MIN_RELEVANCE or key in siblings):
            entry = kb.entry(key)
            answer = _quote(kb, entry, question.features, query, lead=wording.MORE_LEAD + "\n")
            answer.kind = "more"
            return answer
    return Answer(wording.NOTHING_MORE, kind="more", query=query)


def _siblings(kb: KnowledgeBase, entry: Entry | None) -> list[str]:
    """Entries under the same action heading as `entry` (e.g. 13 -> 14)."""
    if entry is None:
        return []
    for part in kb.structure(entry.document):
        for action in part.actions:
            if entry.key in action.keys:
                return [k for k in action.keys if k != entry.key]
        if entry.key in part.keys:
            return [k for k in part.keys if k != entry.key]
    return []


# --- departments, items, document, targets -----------------------------------------------


def _department(kb: KnowledgeBase, question: _Question) -> Answer:
    name = _department_named(kb, question)
    if name is None:
        # "谁管盲人按摩" is a responsibility question about a topic.
        entry = _new_topic(kb, question)
        if entry is None:
            return Answer(wording.DEPARTMENT_UNKNOWN, kind="no_answer")
        return _responsible(entry, question.text)
    department = kb.department(name)
    entries = [kb.entry(k) for k in department.keys]
    lines = [wording.DEPARTMENT_LEAD.format(department=department.name, count=len(entries))]
    lines += [
        wording.DEPARTMENT_LINE.format(ref=wording.readable_ref(e.ref), title=e.title)
        for e in entries
    ]
    return Answer(
        "\n".join(lines),
        sources=[e.source() for e in entries],
        kind="department",
        keys=[e.key for e in entries[:1]],
        query=question.text,
    )


def _department_named(kb: KnowledgeBase, question: _Question) -> str | None:
    for value in question.entities.get("department", []):
        try:
            return kb.department(value).name
        except NotFound:
            continue
    best, best_len = None, 0
    for department in kb.departments():
        for name in (department.name, *department.aliases):
            if name and name in question.normalized and len(name) > best_len:
                best, best_len = department.name, len(name)
    return best


def _item(kb: KnowledgeBase, question: _Question) -> Answer:
    entry = _item_entry(kb, question)
    if entry is None:
        if question.confidence >= WEAK_CONFIDENCE:
            entry = _new_topic(kb, question)
        if entry is None:
            return _candidates(kb, question)
    if entry.kind == "target":
        return _target_answer([entry], question.text)
    if entry.kind == "document":
        return _document(kb)
    return _quote(kb, entry, question.features, question.text)


def _item_entry(kb: KnowledgeBase, question: _Question) -> Entry | None:
    for key in question.entities.get("entry", []):
        found = _entry_or_none(kb, key)
        if found is not None:
            return found
    numbers = [*question.entities.get("item_number", [])]
    numbers += [m.group(1) for m in _ITEM_REF.finditer(question.normalized)]
    for value in numbers:
        number = _number(value)
        if number is not None:
            found = _entry_or_none(kb, _doc_key(kb, str(number)))
            if found is not None:
                return found
    match = _SAFEGUARD_REF.search(question.normalized)
    if match:
        return _entry_or_none(kb, _doc_key(kb, f"三（{match.group(1)}）"))
    return None


def _number(value: str) -> int | None:
    """ "13", "十三", "第13条", "廿一" -> 13 / 13 / 13 / 21."""
    digits = re.sub(r"[^0-9一二三四五六七八九十两廿零]", "", value)
    if not digits:
        return None
    if digits.isdigit():
        return int(digits)
    digits = digits.replace("廿", "二十")
    if "十" in digits:
        tens, _, ones = digits.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (
            _CN_DIGITS.get(ones, 0) if ones else 0
        )
    return _CN_DIGITS.get(digits)


def _document(kb: KnowledgeBase) -> Answer:
    facts = kb.document()
    text = wording.DOCUMENT.format(
        title=facts.title,
        number=facts.number,
        issuer=facts.issuer,
        date=_chinese_date(facts.date),
        period=facts.period or "",
    )
    if facts.implements and facts.implements_title:
        text += wording.DOCUMENT_IMPLEMENTS.format(
            implements_title=facts.implements_title, implements=facts.implements
        )
    text += "\n" + wording.PERIOD_ENDED
    entry = kb.entry(_doc_key(kb, "document"))
    return Answer(text, sources=[entry.source()], kind="answer", keys=[entry.key])


def _chinese_date(iso: str) -> str:
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
    if not match:
        return iso
    year, month, day = match.groups()
    return f"{year}年{int(month)}月{int(day)}日"


def _targets(kb: KnowledgeBase, question: _Question) -> Answer:
    """The target sentences verbatim; the one asked about first (default: the overall one)."""
    by_suffix = {t.key.rpartition("#")[2]: t for t in kb.targets()}
    order = [str(t["entry"]) for t in topics().targets]
    asked = [
        t
        for t in topics().targets
        if any(w in question.normalized for w in t["words"]) and t is not topics().targets[0]
    ]
    first = str(asked[0]["entry"]) if asked else order[0]
    chosen = [first] if asked else order
    entries = [by_suffix[s] for s in chosen if s in by_suffix]
    if not entries:
        return no_answer()
    return _target_answer(entries, question.text)


def _target_answer(entries: list[Entry], query: str) -> Answer:
    lines = [wording.TARGETS_LEAD]
    for e in entries:
        lines.append(f"{e.text}（{_basis(e)}）")
    lines.append(wording.PERIOD_LINE)
    return Answer(
        "\n".join(lines),
        buttons=[wording.BUTTON_DETAIL, wording.BUTTON_MORE],
        sources=[e.source() for e in entries],
        kind="answer",
        keys=[e.key for e in entries],
        query=query,
    )


# --- replies that cite nothing -------------------------------------------------------------


def out_of_scope() -> Answer:
    return Answer(wording.OUT_OF_SCOPE, kind="out_of_scope", response="utter_out_of_scope")


def hand_off() -> Answer:
    return Answer(wording.HANDOFF, kind="handoff", handoff=True, response="utter_handoff")


def no_answer() -> Answer:
    return Answer(wording.NO_ANSWER, kind="no_answer", handoff=True, response="utter_no_answer")


def knowledge_unavailable() -> Answer:
    """What actions say when the knowledge base cannot be opened."""
    return Answer(
        wording.KB_UNAVAILABLE, kind="handoff", handoff=True, response="utter_kb_unavailable"
    )
