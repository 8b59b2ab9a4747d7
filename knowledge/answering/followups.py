"""Follow-ups on an earlier answer: 那找谁 / 详细说说 / 还有别的吗, and entries named outright."""

from __future__ import annotations

import re

from knowledge import wording
from knowledge.answering import compose
from knowledge.answering.compose import Answer, Context, entry_or_none
from knowledge.answering.cues import ASKS_WHO, document_fact, topics
from knowledge.answering.question import Question
from knowledge.ranking import question_features, rank
from knowledge.store import Entry, KnowledgeBase

FOLLOW_UPS = frozenset({"ask_responsible", "ask_detail", "ask_more"})
# Relevance (idf-weighted overlap) of about one distinctive word of the plan: less than this
# and the words name no entry of their own.
MIN_RELEVANCE = 2.0
# "还有别的吗" offers only entries about as relevant as this share of the best match.
MORE_SHARE = 0.4
# Words naming the plan itself (这个方案是哪个部门发的 asks about the plan, not an earlier answer).
_NAMES_THE_PLAN = re.compile(r"方案|文件|这个文|红头")


def follow_up(kb: KnowledgeBase, question: Question, context: Context) -> Answer:
    """The reply to a follow-up, as a button asks it."""
    answer = _reply(kb, question, context, weigh_alone=False)
    assert answer is not None
    return answer


def follow_up_unless_alone(
    kb: KnowledgeBase, question: Question, context: Context
) -> Answer | None:
    """The reply to a typed follow-up, or None for a first question that only sounds like one
    (谁来统一协调残疾人就业？: no earlier answer to follow, no entry named, but words of its own),
    which is then weighed like any other question, not told that nothing was asked before."""
    return _reply(kb, question, context, weigh_alone=True)


def _reply(
    kb: KnowledgeBase, question: Question, context: Context, *, weigh_alone: bool
) -> Answer | None:
    named = named_entry(kb, question)
    if named is not None:
        # A button on one answer (/ask_detail{"entry": …}) asks about that entry, which need
        # not be the last one answered; the conversation's question stays the same.
        if question.intent == "ask_detail":
            return detail(kb, named, context.last_query)
        if question.intent == "ask_responsible":
            return responsible(named, context.last_query)
        return more(kb, context, named)
    entry = new_topic(kb, question)
    if weigh_alone and _alone(question, context, entry):
        return None
    query = question.text if entry is not None else context.last_query
    if entry is None and context.last_keys:
        entry = entry_or_none(kb, context.last_keys[0])
    if question.intent == "ask_more":
        return more(kb, context, entry)
    if entry is None:
        return Answer(wording.NO_CONTEXT, kind="no_answer")
    if question.intent == "ask_detail":
        return detail(kb, entry, query)
    return responsible(entry, query)


def about_entry(kb: KnowledgeBase, question: Question, entry: Entry) -> Answer:
    """A question that names an entry: its departments, its full text, more, or the entry."""
    who = any(w in question.text for w in ASKS_WHO)
    if question.intent == "ask_responsible" or (who and question.intent not in FOLLOW_UPS):
        return responsible(entry, question.text)
    if question.intent == "ask_detail":
        return detail(kb, entry, question.text)
    if question.intent == "ask_more":
        return more(kb, Context([entry.key], question.text, [entry.key]), entry)
    if entry.kind == "target":
        return compose.target_answer(kb, [entry], question.text)
    if entry.kind == "document":
        return compose.document(kb, question.said or None)
    return compose.quote(kb, entry, question.said or entry.title)


def _alone(question: Question, context: Context, topic: Entry | None) -> bool:
    if context.last_keys or topic is not None:
        return False
    # 这个方案是哪个部门发的: its words are all a follow-up's, but it asks who issued the plan.
    return bool(_own_words(question)) or _asks_about_the_plan(question)


def _asks_about_the_plan(question: Question) -> bool:
    """Names the plan itself (方案, 文件) and asks one of its facts (who issued it, when)."""
    said = question.asked_normalized
    return bool(_NAMES_THE_PLAN.search(said)) and document_fact(said) is not None


def _own_words(question: Question) -> dict[str, float]:
    """The question's words beside the follow-up's own (找谁, 详细说说)."""
    return {
        f: w
        for f, w in question_features(question.said, ignore=topics().follow_up).items()
        if not f.startswith("~")
    }


def new_topic(kb: KnowledgeBase, question: Question) -> Entry | None:
    """A follow-up that names its own topic (那盲人按摩找谁？) is about that topic."""
    words = _own_words(question)
    if not words:
        return None
    ranked = rank(kb, question.said, features=words)
    return kb.entry(ranked[0].key) if ranked and ranked[0].relevance >= MIN_RELEVANCE else None


def named_entry(kb: KnowledgeBase, question: Question) -> Entry | None:
    """The entry a button payload names in its `entry` entity, if it exists."""
    for key in question.entities.get("entry", []):
        found = entry_or_none(kb, key)
        if found is not None:
            return found
    return None


def responsible(entry: Entry, query: str | None) -> Answer:
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


def detail(kb: KnowledgeBase, entry: Entry, query: str | None) -> Answer:
    lines = [
        wording.DETAIL_LEAD.format(document=entry.document, ref=wording.readable_ref(entry.ref)),
        entry.text.strip(),
    ]
    if entry.departments:
        lines.append(compose.departments_line(entry))
    lines.append(compose.period_line(kb, entry.document))
    return Answer(
        "\n".join(lines),
        buttons=[wording.responsible_button(entry.key), wording.BUTTON_MORE],
        sources=[entry.source()],
        kind="detail",
        keys=[entry.key],
        query=query,
    )


def more(kb: KnowledgeBase, context: Context, current: Entry | None) -> Answer:
    """The next most relevant entry for the last question that has not been shown yet."""
    query = context.last_query or ""
    shown = set(context.shown_keys) | set(context.last_keys)
    if current is not None:
        shown.add(current.key)
    if current is not None and current.kind == "target":
        # After a target, the other targets of the plan; nothing else is "more" of a target.
        others = [
            t for t in kb.entries(kind="target", document=current.document) if t.key not in shown
        ]
        if others:
            answer = compose.target_answer(kb, others[:1], query)
            answer.text = wording.MORE_LEAD + "\n" + answer.text
            answer.kind = "more"
            return answer
        return Answer(wording.NOTHING_MORE, kind="more", query=query)
    siblings = kb.siblings(current.key) if current is not None else []
    ranked = rank(kb, query) if query else []
    # Real overlap: about as relevant as the best match of the question, not one shared word.
    best = max((r.relevance for r in ranked), default=0.0)
    enough = max(MIN_RELEVANCE, MORE_SHARE * best)
    # The other items of the same action first (13 -> 14), then the question's other matches.
    order = [k for k in siblings if k not in shown] + [
        r.key for r in ranked if r.relevance >= enough and r.key not in shown
    ]
    if not order:
        return Answer(wording.NOTHING_MORE, kind="more", query=query)
    answer = compose.quote(kb, kb.entry(order[0]), query, lead=wording.MORE_LEAD + "\n")
    answer.kind = "more"
    return answer
