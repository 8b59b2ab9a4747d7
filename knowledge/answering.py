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
from knowledge.numbers import parse_number
from knowledge.store import Entry, KnowledgeBase, open_kb

TOPICS_PATH = Path(__file__).with_name("topics.yml")

# Below this an intent is a guess: offer candidates instead of answering.
WEAK_CONFIDENCE = 0.4
# Small talk (greet, thanks, goodbye) is only taken at its word above this; a real question
# mistaken for 再见 at 0.5 is searched instead.
SMALL_TALK_CONFIDENCE = 0.8
# Below this a policy intent needs the words of the question to point at its answer too.
RELEVANCE_NEEDED_BELOW = 0.6
# A guess (weak intent) is answered outright only when one entry clearly stands out:
# strong relevance and this many times the relevance of the runner-up.
CLEAR_MARGIN = 1.5
# "还有别的吗" offers only entries about as relevant as this share of the best match.
MORE_SHARE = 0.4
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

_NUM = r"([0-9]{1,2}|[一二三四五六七八九十两廿]{1,3})"
# 二（八）13, 二(八)第13条
_FULL_REF = re.compile(
    r"([一二三])\s*[（(]\s*([一二三四五六七八九十]{1,2})\s*[）)]\s*(?:第\s*)?([0-9]{1,2})(?![0-9])"
)
# 保障措施第三条, 第三部分的第二项, 保障措施（三）
_SAFEGUARD_PART_REF = re.compile(
    r"(?:保障措施|第三部分|第三大部分)\s*(?:里|中|的|里面|里的|中的)?\s*(?:第\s*)?[（(]?\s*"
    + _NUM
    + r"\s*[）)]?\s*[条项点个部分]?"
)
# 三（二）, 二(八)
_SECTION_REF = re.compile(r"([一二三])\s*[（(]\s*([一二三四五六七八九十]{1,2})\s*[）)]")
# 第13条, 第十三项
_ITEM_REF = re.compile(r"第\s*" + _NUM + r"\s*[条项点]")
# A responsibility question about a referenced entry (第十三条谁负责).
_ASKS_WHO = ("谁", "负责", "部门", "哪个单位", "哪些单位", "牵头", "归哪", "找哪")


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
    # Name of the domain response (domain.yml) that carries `text`, for fixed replies,
    # and the variables that fill it ({plan_title}).
    response: str | None = None
    response_vars: dict[str, str] = field(default_factory=dict)


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
    answer = _respond(kb, question, context or Context())
    return _with_amount_note(kb, question, answer)


def _respond(kb: KnowledgeBase, question: _Question, context: Context) -> Answer:
    name = question.intent
    if name == "ask_human":
        # A wish for a person at a middling confidence may be a question the plan answers.
        clear = _clear_match(kb, question) if question.confidence < SMALL_TALK_CONFIDENCE else None
        if clear is not None:
            return _quote(kb, clear, question.features, question.text)
        return no_phone_number() if asks_for_phone(question.text) else hand_off()
    referenced = _referenced_entry(kb, question)
    if referenced is not None:
        return _about_entry(kb, question, referenced, context)
    if name in SMALL_TALK:
        if question.confidence >= SMALL_TALK_CONFIDENCE:
            reply = wording.RESPONSES[SMALL_TALK[name]]
            return Answer(reply, kind="smalltalk", response=SMALL_TALK[name])
        # Not clearly small talk: a question worded unlike the training examples, or noise.
        return _candidates(kb, question)
    if _mentions_out_of_scope(kb, question):
        return out_of_scope(kb)
    if name == "out_of_scope":
        # A middling "out of scope" whose words clearly point at one entry is a plan question.
        if question.confidence < SMALL_TALK_CONFIDENCE:
            clear = _clear_match(kb, question)
            if clear is not None:
                return _quote(kb, clear, question.features, question.text)
        return no_phone_number() if asks_for_phone(question.text) else out_of_scope(kb)
    if name in ("ask_department", "nlu_fallback") and asks_for_phone(question.text):
        # 人社局电话: the plan names offices, never their numbers.
        return no_phone_number()
    if name in FOLLOW_UPS:
        return _follow_up(kb, question, context)
    if name == "ask_department":
        return _department(kb, question)
    if name == "ask_item":
        return _item(kb, question)
    if name == "ask_document" and question.confidence >= FIXED_ANSWER_CONFIDENCE:
        return _document(kb, question)
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


# A request for a phone number or contact (残联电话多少, 有热线吗), not a call someone got
# (残联打电话来核对信息) or a wish to be called back (给我回个电话: a hand-off).
_PHONE_ASK = re.compile(
    r"电话|联系方式|热线|手机号|座机|(?:联系|咨询|办公|服务)号码|号码(?:是)?多少"
)
_NOT_PHONE_ASK = re.compile(r"回(?:个)?电话|打(?:个)?电话(?:来|过来|给我)|给我打")


def asks_for_phone(text: str) -> bool:
    """Whether the words ask for a phone number or contact of an office."""
    said = relevance.simplify(text)
    return bool(_PHONE_ASK.search(said)) and not _NOT_PHONE_ASK.search(said)


# --- amounts --------------------------------------------------------------------------------

# A question for an amount or a number (补多少钱, 标准是多少, 占多少比例); not 多少种 (kinds).
_AMOUNT_ASK = re.compile(r"多少(?![种项类条])|几块|几元|几百|几千|几万|金额|数额|额度")
# Money in the question: then only a sum of money in the plan answers it.
_MONEY_ASK = re.compile(r"钱|元|块|补贴|补助|奖励|资助|工资|费|金额|数额|额度")
# 补贴标准 asks for an amount; 行业标准 / 标准化 are standards of another kind.
_STANDARD_ASK = re.compile(r"标准(?!化)")
_STANDARD_NOT_AMOUNT = re.compile(r"行业标准|服务标准|技术标准|建设标准")
# Numbers the plan states: a sum of money, or any count, share or limit (50人, 60%, 1500名).
_MONEY_IN_TEXT = re.compile(r"[0-9０-９]+(?:\.[0-9]+)?\s*万?元")
_NUMBER_IN_TEXT = re.compile(
    r"[0-9０-９]+(?:\.[0-9]+)?\s*(?:%|％|万?元|人|名|个|岁|倍|天|小时|户|家|次)"
)
_AMOUNT_NOTE_KINDS = ("answer", "more", "detail", "clarify")


def asks_for_amount(text: str, intent: str | None = None) -> str | None:
    """What amount a question asks for: "money" (补多少钱, 补贴标准), "number" for another
    amount (占多少比例, 多少人), None when it asks for none."""
    said = relevance.simplify(text)
    money = bool(_MONEY_ASK.search(said)) or intent == "ask_subsidy"
    if _AMOUNT_ASK.search(said):
        return "money" if money else "number"
    if money and _STANDARD_ASK.search(said) and not _STANDARD_NOT_AMOUNT.search(said):
        return "money"
    return None


def _with_amount_note(kb: KnowledgeBase, question: _Question, answer: Answer) -> Answer:
    """Say plainly when the amount asked for is not in the plan text cited (no guessing)."""
    if answer.kind not in _AMOUNT_NOTE_KINDS or question.text.strip().startswith("/"):
        return answer
    asked = asks_for_amount(question.text, question.intent)
    if asked is None:
        return answer
    keys = answer.keys
    if answer.kind == "clarify":
        keys = [_doc_key(kb, str(kind["entry"])) for kind in topics().subsidies]
    entries = [e for e in (_entry_or_none(kb, k) for k in keys) if e is not None]
    if not entries or any(e.kind in ("document", "target") for e in entries):
        return answer
    pattern = _MONEY_IN_TEXT if asked == "money" else _NUMBER_IN_TEXT
    if any(pattern.search(e.text) for e in entries):
        return answer
    lines = answer.text.split("\n")
    # Before the period line that closes a quoted answer, else at the end.
    at = len(lines) - 1 if answer.kind != "clarify" and len(lines) > 1 else len(lines)
    lines.insert(at, wording.NO_AMOUNT)
    answer.text = "\n".join(lines)
    return answer


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
    lines.append(_period_line(kb, entry.document))
    return Answer(
        "\n".join(lines),
        buttons=[
            wording.detail_button(entry.key),
            wording.responsible_button(entry.key),
            wording.BUTTON_MORE,
        ],
        sources=[entry.source()],
        kind="answer",
        keys=[entry.key],
        query=query,
    )


def _period_line(kb: KnowledgeBase, document: str) -> str:
    """The period of the document the answer cites (2022-2024 for 黄政办发〔2022〕60号)."""
    try:
        period = kb.document(document).period
    except NotFound:
        period = None
    return wording.PERIOD_LINE.format(period=period) if period else wording.UNDATED_LINE


def _basis(entry: Entry) -> str:
    return wording.BASIS.format(document=entry.document, ref=wording.readable_ref(entry.ref))


def _departments_line(entry: Entry) -> str:
    return wording.DEPARTMENTS.format(
        departments=wording.DEPARTMENT_SEPARATOR.join(entry.departments)
    )


def _policy(kb: KnowledgeBase, question: _Question) -> Answer:
    ranked = _rank(kb, question, _candidate_keys(kb, question.intent))
    key, _, raw = ranked[0]
    # A middling intent is not enough on its own: the words must point at the answer too.
    if question.confidence < RELEVANCE_NEEDED_BELOW and raw < MIN_RELEVANCE:
        return _candidates(kb, question)
    return _quote(kb, kb.entry(key), question.features, question.text)


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


def _clear_match(
    kb: KnowledgeBase,
    question: _Question,
    ranked: list[tuple[str, float, float]] | None = None,
) -> Entry | None:
    """The one entry the words clearly point at (strong, well ahead of the rest), if any."""
    if ranked is None:
        ranked = _rank(kb, question, [])
    if not ranked:
        return None
    by_raw = sorted(ranked, key=lambda r: -r[2])
    best_key, _, best_raw = by_raw[0]
    runner_up = by_raw[1][2] if len(by_raw) > 1 else 0.0
    if best_raw >= STRONG_RELEVANCE and best_raw >= CLEAR_MARGIN * runner_up:
        return kb.entry(best_key)
    return None


def _candidates(kb: KnowledgeBase, question: _Question) -> Answer:
    """A weak guess: answer a clear match, else offer the two best entries, else hand off.

    Offers cite nothing (sources stay []): they are only buttons until one is chosen.
    """
    ranked = _rank(kb, question, _candidate_keys(kb, question.intent))
    good = [(key, raw) for key, _, raw in ranked if raw >= MIN_RELEVANCE]
    if not good:
        return no_answer()
    clear = _clear_match(kb, question, ranked)
    if clear is not None:
        return _quote(kb, clear, question.features, question.text)
    entries = [kb.entry(k) for k, _ in good[:2]]
    # Items under one heading share their title (13 and 14): tell them apart by their words.
    buttons = [
        {
            "title": wording.CANDIDATE_TITLE.format(
                ref=e.ref, snippet=snippet(e, wording.CANDIDATE_SNIPPET_LENGTH, clause=True)
            ),
            "payload": _item_payload(e.key),
        }
        for e in entries
    ]
    return Answer(
        wording.CANDIDATES_LEAD,
        buttons=buttons,
        kind="candidates",
        sources=[],
        keys=[],
        query=question.text,
    )


# --- follow-ups ---------------------------------------------------------------------------


def _follow_up(kb: KnowledgeBase, question: _Question, context: Context) -> Answer:
    named = _named_entry(kb, question)
    if named is not None:
        # A button on one answer (/ask_detail{"entry": …}) asks about that entry, which need
        # not be the last one answered; the conversation's question stays the same.
        if question.intent == "ask_detail":
            return _detail(kb, named, context.last_query)
        if question.intent == "ask_responsible":
            return _responsible(named, context.last_query)
        return _more(kb, context, named)
    entry = _new_topic(kb, question)
    query = question.text if entry is not None else context.last_query
    if entry is None and context.last_keys:
        entry = _entry_or_none(kb, context.last_keys[0])
    if question.intent == "ask_more":
        return _more(kb, context, entry)
    if entry is None:
        return Answer(wording.NO_CONTEXT, kind="no_answer")
    if question.intent == "ask_detail":
        return _detail(kb, entry, query)
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


def _named_entry(kb: KnowledgeBase, question: _Question) -> Entry | None:
    """The entry a button payload names in its `entry` entity, if it exists."""
    for key in question.entities.get("entry", []):
        found = _entry_or_none(kb, key)
        if found is not None:
            return found
    return None


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
        buttons=[wording.detail_button(entry.key), wording.BUTTON_MORE],
        sources=[entry.source()],
        kind="departments",
        keys=[entry.key],
        query=query,
    )


def _detail(kb: KnowledgeBase, entry: Entry, query: str | None) -> Answer:
    lines = [
        wording.DETAIL_LEAD.format(document=entry.document, ref=wording.readable_ref(entry.ref)),
        entry.text.strip(),
    ]
    if entry.departments:
        lines.append(_departments_line(entry))
    lines.append(_period_line(kb, entry.document))
    return Answer(
        "\n".join(lines),
        buttons=[wording.responsible_button(entry.key), wording.BUTTON_MORE],
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
    if current is not None and current.kind == "target":
        # After a target, the other targets of the plan; nothing else is "more" of a target.
        others = [
            t for t in kb.entries(kind="target", document=current.document) if t.key not in shown
        ]
        if others:
            answer = _target_answer(kb, others[:1], query)
            answer.text = wording.MORE_LEAD + "\n" + answer.text
            answer.kind = "more"
            return answer
        return Answer(wording.NOTHING_MORE, kind="more", query=query)
    siblings = _siblings(kb, current)
    ranked = _rank(kb, question, [], boost=dict.fromkeys(siblings, SIBLING_PULL))
    # Real overlap: about as relevant as the best match of the question, not one shared word.
    enough = max(MIN_RELEVANCE, MORE_SHARE * max((raw for _, _, raw in ranked), default=0.0))
    for key, _, raw in ranked:
        if key not in shown and (raw >= enough or key in siblings):
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
        wording.DEPARTMENT_LINE.format(ref=wording.readable_ref(e.ref), snippet=snippet(e))
        for e in entries
    ]
    return Answer(
        "\n".join(lines),
        sources=[e.source() for e in entries],
        kind="department",
        keys=[e.key for e in entries[:1]],
        query=question.text,
    )


def snippet(entry: Entry, length: int = wording.SNIPPET_LENGTH, clause: bool = False) -> str:
    """The entry's first sentence, word for word, cut to `length` characters with …

    With `clause`, the cut falls after the last full clause (at 、，；) that keeps at least
    half of `length`, so a short label does not end mid-word.
    """
    sentences = [s.strip() for s in entry.sentences]
    first = next((s for s in sentences if s), entry.text.strip())
    if len(first) <= length:
        return first
    cut = first[:length]
    if clause:
        ends = [i for i, ch in enumerate(first[: length + 1]) if ch in _CLAUSE_ENDS]
        if ends and ends[-1] >= length // 2:
            cut = first[: ends[-1]]
    return cut.rstrip("，、；：,;") + wording.ELLIPSIS


_CLAUSE_ENDS = "，、；：,;"


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
        return _target_answer(kb, [entry], question.text)
    if entry.kind == "document":
        return _document(kb, question)
    return _quote(kb, entry, question.features, question.text)


def _item_entry(kb: KnowledgeBase, question: _Question) -> Entry | None:
    found = _named_entry(kb, question) or _referenced_entry(kb, question)
    if found is not None:
        return found
    for value in question.entities.get("item_number", []):
        number = _number(value)
        if number is not None:
            found = _entry_or_none(kb, _doc_key(kb, str(number)))
            if found is not None:
                return found
    return None


def parse_reference(text: str) -> str | None:
    """The part of the plan a question names explicitly, as a key suffix or a section ref.

    "第13条" / "第十三项" / "二（八）13" -> "13"; "三（二）" / "保障措施第二条" / "第三部分第二项"
    -> "三（二）"; "二（八）" -> "二（八）" (a section of part 二: its first item). None if the
    text names no part of the plan. Pure: the caller checks that the entry exists.
    """
    from knowledge.lexicon import get_lexicon

    said = get_lexicon().simplify(text)
    match = _FULL_REF.search(said)
    if match:
        return str(int(match.group(3)))
    match = _SECTION_REF.search(said)
    if match:
        part, section = match.groups()
        return f"{part}（{section}）"
    match = _SAFEGUARD_PART_REF.search(said)
    if match:
        number = _number(match.group(1))
        if number is None or not 1 <= number < len(_SECTION_NUMERALS):
            return None
        return f"三（{_SECTION_NUMERALS[number]}）"
    match = _ITEM_REF.search(said)
    if match:
        number = _number(match.group(1))
        return str(number) if number is not None else None
    return None


_SECTION_NUMERALS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]


def _referenced_entry(kb: KnowledgeBase, question: _Question) -> Entry | None:
    """The entry a question names (第13条, 三（二）, 二（八）13), if it exists in the plan."""
    if question.text.strip().startswith("/"):
        return None  # button payloads carry their entry as an entity
    ref = parse_reference(question.text)
    if ref is None:
        return None
    found = _entry_or_none(kb, _doc_key(kb, ref))
    if found is not None or not ref.startswith("二"):
        return found
    for part in kb.structure():
        for action in part.actions:
            if action.ref == ref and action.keys:
                return _entry_or_none(kb, action.keys[0])
    return None


def _about_entry(kb: KnowledgeBase, question: _Question, entry: Entry, context: Context) -> Answer:
    """A question that names an entry: its departments, its full text, more, or the entry."""
    who = any(w in question.text for w in _ASKS_WHO)
    if question.intent == "ask_responsible" or (who and question.intent not in FOLLOW_UPS):
        return _responsible(entry, question.text)
    if question.intent == "ask_detail":
        return _detail(kb, entry, question.text)
    if question.intent == "ask_more":
        return _more(kb, Context([entry.key], question.text, [entry.key]), entry)
    if entry.kind == "target":
        return _target_answer(kb, [entry], question.text)
    return _quote(kb, entry, question.features, question.text)


def _number(value: str) -> int | None:
    """ "13", "十三", "第13条", "廿一" -> 13 / 13 / 13 / 21."""
    return parse_number(re.sub(r"[^0-9０-９一二三四五六七八九十两廿零]", "", value))


# Which fact of the document a question asks for, by its words (first match wins).
_DOCUMENT_FACTS: list[tuple[str, tuple[str, ...]]] = [
    ("copy_to", ("抄送",)),
    ("addressees", ("主送", "发给", "发到", "下发给", "印发给", "哪些单位", "发给谁")),
    ("implements", ("依据", "根据", "落实", "上位", "省里", "省政府", "鄂政办发")),
    (
        "period",
        (
            "到期",
            "有效",
            "过期",
            "失效",
            "截止",
            "作废",
            "实施期",
            "期限",
            "管用",
            "算数",
            "哪几年",
            "还能用",
        ),
    ),
    ("date", ("什么时候", "哪天", "哪一天", "日期", "哪年", "时间", "几号", "几月")),
    (
        "issuer",
        (
            "谁发",
            "哪个部门",
            "哪个单位",
            "发文机关",
            "机关",
            "印发单位",
            "谁印发",
            "市政府发",
            "残联发",
        ),
    ),
    ("number", ("文号", "字号", "编号", "几号文")),
]


def document_fact(text: str) -> str | None:
    """The document fact a question asks for: copy_to, addressees, implements, period, date,
    issuer or number; None for the document as a whole (全称, 是什么文件)."""
    for fact, words in _DOCUMENT_FACTS:
        if any(w in text for w in words):
            return fact
    return None


def _document(kb: KnowledgeBase, question: _Question | None = None) -> Answer:
    """The fact asked (主送, 抄送, 日期, 发文机关, 文号, 依据, 实施期) first, then the whole record."""
    facts = kb.document()
    names = {"title": facts.title, "number": facts.number}
    fact = document_fact(relevance.simplify(question.text)) if question is not None else None
    first = ""
    if fact == "addressees" and facts.addressees:
        sep = wording.DOCUMENT_LIST_SEPARATOR
        first = wording.DOCUMENT_ADDRESSEES.format(**names, addressees=sep.join(facts.addressees))
    elif fact == "copy_to" and facts.copy_to:
        sep = wording.DOCUMENT_LIST_SEPARATOR
        first = wording.DOCUMENT_COPY_TO.format(**names, copy_to=sep.join(facts.copy_to))
    elif fact == "date" and facts.date:
        first = wording.DOCUMENT_DATE.format(**names, date=_chinese_date(facts.date))
    elif fact == "issuer" and facts.issuer:
        first = wording.DOCUMENT_ISSUER.format(**names, issuer=facts.issuer)
    elif fact == "number":
        first = wording.DOCUMENT_NUMBER.format(**names)
    elif fact == "implements" and facts.implements and facts.implements_title:
        first = wording.DOCUMENT_IMPLEMENTS.format(
            implements_title=facts.implements_title, implements=facts.implements
        )
    elif fact == "period" and facts.period:
        first = wording.DOCUMENT_PERIOD.format(**names, period=facts.period)
        first += wording.PERIOD_ENDED
    # The period is said once: in the fact line when it was asked, else in the record.
    record = wording.DOCUMENT_WITHOUT_PERIOD if first and fact == "period" else wording.DOCUMENT
    text = record.format(
        title=facts.title,
        number=facts.number,
        issuer=facts.issuer,
        date=_chinese_date(facts.date),
        period=facts.period or "",
    )
    if facts.implements and facts.implements_title and fact != "implements":
        text += wording.DOCUMENT_IMPLEMENTS.format(
            implements_title=facts.implements_title, implements=facts.implements
        )
    if not (first and fact == "period"):
        text += "\n" + wording.PERIOD_ENDED
    if first:
        text = first + "\n" + text
    entry = kb.entry(_doc_key(kb, "document"))
    query = question.text if question is not None else None
    return Answer(text, sources=[entry.source()], kind="answer", keys=[entry.key], query=query)


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
    return _target_answer(kb, entries, question.text)


def _target_answer(kb: KnowledgeBase, entries: list[Entry], query: str) -> Answer:
    lines = [wording.TARGETS_LEAD]
    for e in entries:
        lines.append(f"{e.text}（{_basis(e)}）")
    lines.append(_period_line(kb, entries[0].document))
    return Answer(
        "\n".join(lines),
        buttons=[wording.BUTTON_DETAIL, wording.BUTTON_MORE],
        sources=[e.source() for e in entries],
        kind="answer",
        keys=[e.key for e in entries],
        query=query,
    )


# --- replies that cite nothing -------------------------------------------------------------


def out_of_scope(kb: KnowledgeBase | None = None) -> Answer:
    """Not covered: names the plan (the default document's title), cites nothing."""
    kb = kb if kb is not None else open_kb()
    title = kb.document().title
    return Answer(
        wording.OUT_OF_SCOPE.format(plan_title=title),
        kind="out_of_scope",
        response="utter_out_of_scope",
        response_vars={"plan_title": title},
    )


def hand_off() -> Answer:
    """There is no live agent online: say so and point to 12385 / 当地残联 (handoff=true)."""
    return Answer(wording.HANDOFF, kind="handoff", handoff=True, response="utter_handoff")


def no_phone_number() -> Answer:
    """A phone number asked for: the plan names none; point to 12385 / 当地残联, never guess."""
    return Answer(wording.NO_PHONE, kind="handoff", handoff=True, response="utter_contact")


def no_answer() -> Answer:
    return Answer(wording.NO_ANSWER, kind="no_answer", handoff=True, response="utter_no_answer")


def knowledge_unavailable() -> Answer:
    """What actions say when the knowledge base cannot be opened."""
    return Answer(
        wording.KB_UNAVAILABLE, kind="handoff", handoff=True, response="utter_kb_unavailable"
    )
