"""The situation check's replies: what applies (at most five entries), nothing, or stopped."""

from __future__ import annotations

import datetime

from knowledge import payloads, wording
from knowledge.answering.compose import Answer
from knowledge.situation.mapping import applicable
from knowledge.store import KnowledgeBase

OUTSIDE = "不在黄石"


def result(
    kb: KnowledgeBase, answers: dict[str, str | None], today: datetime.date | None = None
) -> Answer:
    """The entries that concern a person with these answers, each one line of the plan's own
    words with its reference and departments, and a button to its full text."""
    if answers.get("area") == OUTSIDE:
        return Answer(wording.SITUATION_OUTSIDE, kind="situation_result")
    matches = applicable(kb.situations(), answers)
    if not matches:
        return Answer(wording.SITUATION_NOTHING, kind="situation_result", handoff=False)
    entries = [kb.entry(m.entry) for m in matches]
    lines = [wording.SITUATION_RESULT_LEAD]
    for n, (m, entry) in enumerate(zip(matches, entries), start=1):
        departments = wording.DEPARTMENT_SEPARATOR.join(entry.departments)
        ref = wording.readable_ref(entry.ref, kind=entry.kind)
        line = wording.SITUATION_RESULT_LINE if departments else wording.SITUATION_RESULT_BARE
        lines.append(line.format(n=n, ref=ref, phrase=m.phrase, departments=departments))
    lines.append(period_note(kb, entries[0].document, today or datetime.date.today()))
    lines.append(wording.SITUATION_RESULT_TAIL)
    buttons = [
        {
            "title": wording.SITUATION_ENTRY_TITLE.format(
                ref=wording.readable_ref(e.ref, kind=e.kind)
            ),
            "payload": payloads.item(e.key),
        }
        for e in entries
    ]
    return Answer(
        "\n".join(lines),
        buttons=buttons,
        sources=[e.source() for e in entries],
        kind="situation_result",
        keys=[e.key for e in entries],
        query=wording.SITUATION_START_TITLE,
    )


def period_note(kb: KnowledgeBase, document: str, today: datetime.date) -> str:
    """The plan's period, and that it has ended when its last year is past."""
    period = kb.document(document).period or ""
    last = period.rpartition("-")[2]
    ended = last.isdigit() and int(last) < today.year
    return (wording.SITUATION_ENDED if ended else wording.SITUATION_CURRENT).format(period=period)


def stopped() -> Answer:
    return Answer(wording.SITUATION_STOPPED, kind="situation_stopped")


# The intents whose rules start the check (data/rules.yml), and what the person first sees.
CHECK_INTENTS = ("check_situation", "inform_situation")


def starts_check(answer: Answer) -> bool:
    """Whether a message that Rasa sent to the check (one of CHECK_INTENTS) should go on with it:
    only when the answer decision reads it as broad (the overview; the check is its personal
    form). A story that asks one thing (自己开了个小卖部，有人指导吗), asks about another city or a
    work injury, or asks for a person gets the decision's answer instead: on 1,115 development
    questions of waves 4-6, starting the check for every such message missed 11 that the
    decision answered right, and no broad question was lost."""
    return answer.kind == "overview"


def start() -> Answer:
    """The check's first turn for a message that says nothing about the person yet: the
    introduction and the first question with its buttons (domain.yml utter_ask_asker)."""
    first = next(iter(wording.SITUATION_QUESTIONS))
    question, options = wording.SITUATION_QUESTIONS[first]
    buttons = [{"title": o, "payload": o} for o in (*options, wording.SITUATION_SKIP)]
    return Answer(
        wording.SITUATION_INTRO + "\n" + question, buttons=buttons, kind="situation_start"
    )
