"""Compose replies: every sentence is a sentence of the plan or fixed wording (`wording`).

No reply cites more than three entries, except a department's list, which comes in pages of
`wording.DEPARTMENT_PAGE_SIZE` with a button for the next page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge import payloads, relevance, wording
from knowledge.answering import cues
from knowledge.answering.question import Question
from knowledge.errors import NotFound
from knowledge.ranking import question_features
from knowledge.store import Entry, KnowledgeBase, open_kb

# No reply other than a department's pages cites more entries than this.
MOST_CITED = 3


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


def doc_key(kb: KnowledgeBase, suffix: str) -> str:
    return f"{kb.document().number}#{suffix}"


def entry_or_none(kb: KnowledgeBase, key: str) -> Entry | None:
    try:
        return kb.entry(key)
    except NotFound:
        return None


# --- quoting --------------------------------------------------------------------------------


def period_line(kb: KnowledgeBase, document: str) -> str:
    """The period of the document the answer cites (2022-2024 for 黄政办发〔2022〕60号)."""
    try:
        period = kb.document(document).period
    except NotFound:
        period = None
    return wording.PERIOD_LINE.format(period=period) if period else wording.UNDATED_LINE


def basis(entry: Entry) -> str:
    return wording.BASIS.format(document=entry.document, ref=wording.readable_ref(entry.ref))


def departments_line(entry: Entry) -> str:
    return wording.DEPARTMENTS.format(
        departments=wording.DEPARTMENT_SEPARATOR.join(entry.departments)
    )


def quote(
    kb: KnowledgeBase,
    entry: Entry,
    query: str,
    lead: str = "",
    features: dict[str, float] | None = None,
) -> Answer:
    """The 1-3 sentences of `entry` that answer `query`, word for word, with basis,
    departments and the plan's period."""
    feats = question_features(query) if features is None else features
    sentences = relevance.best_sentences(kb, entry, feats)
    lines = [lead + wording.ANSWER_LEAD + "".join(sentences), basis(entry)]
    if entry.departments:
        lines.append(departments_line(entry))
    lines.append(period_line(kb, entry.document))
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


def entry_button(entry: Entry, title: str = wording.CANDIDATE_TITLE) -> dict[str, str]:
    """A button that asks for one entry, told apart by its ref and its first words."""
    return {
        "title": title.format(
            ref=entry.ref, snippet=snippet(entry, wording.CANDIDATE_SNIPPET_LENGTH, clause=True)
        ),
        "payload": payloads.item(entry.key),
    }


def with_also(answer: Answer, entry: Entry | None) -> Answer:
    """A second need of the same question, offered as a button after the answer's own."""
    if entry is not None and entry.key not in answer.keys:
        answer.buttons.append(entry_button(entry, wording.ALSO_TITLE))
    return answer


def with_amount_note(kb: KnowledgeBase, question: Question, answer: Answer) -> Answer:
    """Say plainly when the amount asked for is not in the plan text cited (no guessing)."""
    if answer.kind not in ("answer", "more", "detail", "clarify") or question.is_payload:
        return answer
    asked = cues.asks_for_amount(question.asked, question.intent)
    if asked is None:
        return answer
    keys = answer.keys
    if answer.kind == "clarify":
        keys = [doc_key(kb, str(kind["entry"])) for kind in cues.topics().subsidies]
    entries = [e for e in (entry_or_none(kb, k) for k in keys) if e is not None]
    if not entries or any(e.kind in ("document", "target") for e in entries):
        return answer
    if any(cues.states_amount(e.text, asked) for e in entries):
        return answer
    lines = answer.text.split("\n")
    # Before the period line that closes a quoted answer, else at the end.
    at = len(lines) - 1 if answer.kind != "clarify" and len(lines) > 1 else len(lines)
    lines.insert(at, wording.NO_AMOUNT)
    answer.text = "\n".join(lines)
    return answer


# --- asking back, overview, not covered -----------------------------------------------------


def clarify_subsidy(kb: KnowledgeBase) -> Answer:
    """Subsidies in general: which of the kinds the plan names?"""
    buttons = [
        {
            "title": kind["title"],
            "payload": payloads.item(doc_key(kb, str(kind["entry"])), kind["topic"]),
        }
        for kind in cues.topics().subsidies
    ]
    return Answer(wording.SUBSIDY_CLARIFY, buttons=buttons, kind="clarify")


def candidates(kb: KnowledgeBase, keys: list[str], query: str) -> Answer:
    """Ask back between two or three named entries; cites nothing until one is chosen."""
    entries = [e for e in (entry_or_none(kb, k) for k in keys[:MOST_CITED]) if e is not None]
    if not entries:
        return no_answer()
    return Answer(
        wording.CANDIDATES_LEAD,
        buttons=[entry_button(e) for e in entries],
        kind="candidates",
        query=query,
    )


def overview(kb: KnowledgeBase, query: str) -> Answer:
    """What the plan offers, one line and one button per action; cites nothing itself."""
    facts = kb.document()
    actions = [a for a in kb.actions() if a.keys]
    lines = [wording.OVERVIEW_LEAD.format(plan_title=facts.title, count=len(actions))]
    buttons = []
    for action in actions:
        heading = short_heading(action.heading)
        lines.append(wording.OVERVIEW_LINE.format(ref=action.ref, heading=heading))
        buttons.append({"title": heading, "payload": payloads.item(action.keys[0])})
    lines.append(wording.OVERVIEW_TAIL)
    lines.append(period_line(kb, facts.number))
    # The personal way in: a few questions, then the entries that concern the person.
    buttons.insert(
        0, {"title": wording.SITUATION_START_TITLE, "payload": wording.SITUATION_START_PAYLOAD}
    )
    return Answer("\n".join(lines), buttons=buttons, kind="overview", query=query)


_HEADING_FRAME = re.compile(r"^(?:积极)?开展|行动$")


def short_heading(heading: str) -> str:
    """积极开展盲人按摩就业促进行动 -> 盲人按摩就业促进."""
    return _HEADING_FRAME.sub("", heading.strip()) or heading


def not_covered(kb: KnowledgeBase, nearby: Entry | None = None, amount: bool = False) -> Answer:
    """The plan does not say: one sentence, the nearby entry as a button, 12385."""
    title = kb.document().title
    text = wording.NOT_COVERED_AMOUNT if amount else wording.NOT_COVERED
    if nearby is None:
        return Answer(
            wording.OUT_OF_SCOPE.format(plan_title=title),
            kind="out_of_scope",
            response="utter_out_of_scope",
            response_vars={"plan_title": title},
        )
    return Answer(
        text + "\n" + wording.NEARBY_LEAD,
        buttons=[entry_button(nearby, wording.NEARBY_TITLE)],
        kind="out_of_scope",
    )


def out_of_scope(kb: KnowledgeBase | None = None) -> Answer:
    """Not covered, nothing nearby: names the plan (the default document's title)."""
    return not_covered(kb if kb is not None else open_kb())


def hand_off() -> Answer:
    """There is no live agent online: say so and point to 12385 / 当地残联 (handoff=true)."""
    return Answer(wording.HANDOFF, kind="handoff", handoff=True, response="utter_handoff")


def office_not_in_plan(office: str) -> Answer:
    """An office the plan does not list: it has no duties in the plan; never a clause instead."""
    return Answer(wording.OFFICE_NOT_IN_PLAN.format(office=office), kind="out_of_scope")


def no_phone_number() -> Answer:
    """A phone number asked for: the plan names none; point to 12385 / 当地残联, never guess.
    What the plan does not state is "not covered" (the log's unanswered questions), and the
    reply hands over to a person."""
    return Answer(wording.NO_PHONE, kind="out_of_scope", handoff=True, response="utter_contact")


def no_answer() -> Answer:
    return Answer(wording.NO_ANSWER, kind="no_answer", handoff=True, response="utter_no_answer")


def knowledge_unavailable() -> Answer:
    """What actions say when the knowledge base cannot be opened."""
    return Answer(
        wording.KB_UNAVAILABLE, kind="handoff", handoff=True, response="utter_kb_unavailable"
    )


def small_talk(response: str) -> Answer:
    return Answer(wording.RESPONSES[response], kind="smalltalk", response=response)


# --- departments, document, targets ---------------------------------------------------------


def department_page(kb: KnowledgeBase, name: str, page: int, query: str | None) -> Answer:
    """One page of what a department is responsible for: at most DEPARTMENT_PAGE_SIZE entries."""
    department = kb.department(name)
    size = wording.DEPARTMENT_PAGE_SIZE
    pages = max(1, -(-len(department.keys) // size))
    page = min(max(page, 1), pages)
    keys = department.keys[(page - 1) * size : page * size]
    entries = [kb.entry(k) for k in keys]
    first = (page - 1) * size + 1
    lines = [
        wording.DEPARTMENT_LEAD.format(
            department=department.name,
            count=len(department.keys),
            first=first,
            last=first + len(entries) - 1,
        )
    ]
    lines += [
        wording.DEPARTMENT_LINE.format(ref=wording.readable_ref(e.ref), snippet=snippet(e))
        for e in entries
    ]
    buttons = [entry_button(e) for e in entries]
    if page < pages:
        buttons.append(
            {
                "title": wording.DEPARTMENT_NEXT.format(department=department.name),
                "payload": payloads.department(department.name, page + 1),
            }
        )
    return Answer(
        "\n".join(lines),
        buttons=buttons,
        sources=[e.source() for e in entries],
        kind="department",
        keys=[e.key for e in entries[:1]],
        query=query,
    )


def document(kb: KnowledgeBase, query: str | None = None) -> Answer:
    """The fact asked (主送, 抄送, 日期, 发文机关, 文号, 依据, 实施期) first, then the whole record."""
    facts = kb.document()
    names = {"title": facts.title, "number": facts.number}
    fact = cues.document_fact(relevance.simplify(query)) if query else None
    sep = wording.DOCUMENT_LIST_SEPARATOR
    first = ""
    if fact == "addressees" and facts.addressees:
        first = wording.DOCUMENT_ADDRESSEES.format(**names, addressees=sep.join(facts.addressees))
    elif fact == "copy_to" and facts.copy_to:
        first = wording.DOCUMENT_COPY_TO.format(**names, copy_to=sep.join(facts.copy_to))
    elif fact == "date" and facts.date:
        first = wording.DOCUMENT_DATE.format(**names, date=chinese_date(facts.date))
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
        date=chinese_date(facts.date),
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
    entry = kb.entry(doc_key(kb, "document"))
    return Answer(text, sources=[entry.source()], kind="answer", keys=[entry.key], query=query)


def chinese_date(iso: str) -> str:
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
    if not match:
        return iso
    year, month, day = match.groups()
    return f"{year}年{int(month)}月{int(day)}日"


def targets(kb: KnowledgeBase, question: Question) -> Answer:
    """The target sentences verbatim; the ones asked about (default: all, the overall first)."""
    by_suffix = {t.key.rpartition("#")[2]: t for t in kb.targets()}
    asked = cues.targets_asked(question, {s: t.text for s, t in by_suffix.items()})
    entries = [by_suffix[s] for s in asked]
    if not entries:
        return no_answer()
    return target_answer(kb, entries, question.text)


def target_answer(kb: KnowledgeBase, entries: list[Entry], query: str) -> Answer:
    lines = [wording.TARGETS_LEAD]
    for e in entries:
        lines.append(f"{e.text}（{basis(e)}）")
    lines.append(period_line(kb, entries[0].document))
    return Answer(
        "\n".join(lines),
        buttons=[wording.BUTTON_DETAIL, wording.BUTTON_MORE],
        sources=[e.source() for e in entries],
        kind="answer",
        keys=[e.key for e in entries],
        query=query,
    )
