"""The reply to one user turn: the one answering path of the dialogue, the eval and the tests.

Facts of the domain come first (a button names its entry, 第13条 names item 13, a follow-up
refers to the last answer, the plan names no phone numbers); every other question goes to the
fitted decision (`decision.choose`), which picks the kind of reply and the entry. The reply never claims more than the plan says: an amount, date or procedure the
cited entry does not state is "not in the plan".
"""

from __future__ import annotations

from knowledge.answering import compose, cues, followups
from knowledge.answering.compose import Answer, Context, doc_key, entry_or_none
from knowledge.answering.decision import (
    Choice,
    Decision,
    choose,
    open_decision,
    unstated_amount,
)
from knowledge.answering.question import WORDS_RANKING, Question
from knowledge.answering.remembered import wording_key
from knowledge.errors import NotFound
from knowledge.ranking import rank
from knowledge.records import Entry
from knowledge.store import KnowledgeBase, open_kb

SMALL_TALK = {"greet": "utter_greet", "thanks": "utter_thanks", "goodbye": "utter_goodbye"}
# A runner-up the entry model finds at least half as likely as the answer is a second need
# worth a button (odds of at most 2:1 between them).
SECOND_NEED_ODDS = 0.5


def respond(
    text: str,
    intent: str | None,
    confidence: float | None,
    entities: list[dict] | None = None,
    context: Context | None = None,
    kb: KnowledgeBase | None = None,
    ranking: list[dict] | None = None,
    decision: Decision | None = None,
    words_ranking: list[dict] | None = None,
) -> Answer:
    """The reply to one user turn. `ranking` is Rasa's intent ranking (best first); without
    it the top intent alone is used. `words_ranking` is the parse's second opinion
    (`words_intent_ranking`). Raises KnowledgeBaseMissing / DecisionMissing only when
    the knowledge base or the fitted decision is not built."""
    kb = kb if kb is not None else open_kb()
    question = Question.of(text, intent, confidence, entities, ranking, words_ranking)
    answer = _by_domain_rules(kb, question, context or Context())
    if answer is None:
        decision = decision or open_decision()
        answer = as_labelled(kb, question, decision) or decide(kb, question, decision)
    return compose.with_amount_note(kb, question, answer)


def answered_by_rules(kb: KnowledgeBase, question: Question) -> bool:
    """Whether a first turn's reply follows from a domain rule, without the fitted decision
    (the decision is fitted only on the questions it decides)."""
    return _by_domain_rules(kb, question, Context()) is not None


def _by_domain_rules(kb: KnowledgeBase, question: Question, context: Context) -> Answer | None:
    """Replies that follow from what the turn is, not from weighing evidence."""
    if question.is_payload:
        return _payload(kb, question, context)
    referenced = referenced_entry(kb, question)
    if referenced is not None:
        return followups.about_entry(kb, question, referenced)
    if question.intent in followups.FOLLOW_UPS:
        answer = followups.follow_up_unless_alone(kb, question, context)
        if answer is not None:
            return answer
    if cues.asks_for_phone(question.asked):
        # 人社局电话, 按摩考试报名电话: the plan names offices, never a phone number.
        return compose.no_phone_number()
    office = cues.office_named(question)
    if office and cues.asks_duties(question) and department_named(kb, question) is None:
        # 市公安局管什么: the plan lists its departments; one it does not list has no duties in it.
        return compose.office_not_in_plan(office)
    return None


def as_labelled(kb: KnowledgeBase, question: Question, decision: Decision) -> Answer | None:
    """The reply staff chose for these very words in the review loop, if they chose one."""
    label = decision.remembered.get(wording_key(question.said)) if question.said else None
    if label is None:
        return None
    if label == "out_of_scope":
        asked = cues.asks_for_amount(question.asked, question.intent)
        return compose.not_covered(kb, None, amount=asked is not None)
    if label == "handoff":
        return compose.hand_off()
    if label == "overview":
        return compose.overview(kb, question.said)
    entry = entry_or_none(kb, doc_key(kb, label))
    if entry is None:  # not an entry of this plan (any more): the decision answers
        return None
    if entry.kind == "target":
        return compose.target_answer(kb, [entry], entry.title)
    if entry.kind == "document":
        return compose.document(kb, question.said)
    if unstated_amount(question, entry.text):
        return compose.not_covered(kb, entry, amount=True)
    return compose.quote(kb, entry, question.said)


def decide(kb: KnowledgeBase, question: Question, decision: Decision) -> Answer:
    """The fitted decision's reply to a question in words."""
    choice = choose(kb, question, decision)
    top = kb.entry(choice.entries[0][0]) if choice.entries else None
    route = choice.route
    asked = cues.asks_for_amount(question.asked, question.intent)
    if route == "entry" and top is not None:
        if unstated_amount(question, top.text):
            return compose.not_covered(kb, top, amount=True)
        answer = compose.quote(kb, top, question.said)
        return compose.with_also(answer, _second_need(kb, choice, top))
    if route == "overview":
        return compose.overview(kb, question.said)
    if route == "department":
        name = department_named(kb, question)
        if name is not None:
            return compose.department_page(kb, name, 1, question.said)
        # "谁管盲人按摩" names a topic, not a department: the topic's entry answers.
        return compose.quote(kb, top, question.said) if top else compose.no_answer()
    if route == "document":
        return compose.document(kb, question.said)
    if route == "targets":
        return compose.targets(kb, question)
    if route == "handoff":
        return compose.hand_off()
    if route == "smalltalk":
        said = max(SMALL_TALK, key=question.probability)
        return compose.small_talk(SMALL_TALK[said])
    if route == "clarify":
        if cues.subsidy_kind(question) is None:
            return compose.clarify_subsidy(kb)
        return compose.candidates(kb, [k for k, _ in choice.entries], question.said)
    return compose.not_covered(kb, _nearby(choice, top), amount=asked is not None)


def _second_need(kb: KnowledgeBase, choice: Choice, answered: Entry) -> Entry | None:
    """Another entry of another action that the entry model finds nearly as likely."""
    siblings = set(kb.siblings(answered.key))
    best = choice.entries[0][1]
    for key, probability in choice.entries[1:]:
        if probability < SECOND_NEED_ODDS * best:
            return None
        if key not in siblings:
            return kb.entry(key)
    return None


def _nearby(choice: Choice, top: Entry | None) -> Entry | None:
    """What the plan covers near a question it does not answer: the best entry, when the
    question's words really name something of the plan (about one distinctive word)."""
    names_the_plan = bool(choice.ranked) and (choice.ranked[0].relevance >= followups.MIN_RELEVANCE)
    return top if names_the_plan else None


# --- facts of the turn ----------------------------------------------------------------------


def _payload(kb: KnowledgeBase, question: Question, context: Context) -> Answer:
    """A button: its intent and entities say exactly what is asked."""
    name = question.intent
    if name in followups.FOLLOW_UPS:
        return followups.follow_up(kb, question, context)
    if name in SMALL_TALK:
        return compose.small_talk(SMALL_TALK[name])
    if name == "ask_department":
        department = department_named(kb, question)
        if department is not None:
            page = cues.number_in("".join(question.entities.get("page", []))) or 1
            return compose.department_page(kb, department, page, context.last_query)
    entry = followups.named_entry(kb, question)
    if entry is None and name == "ask_subsidy":
        entry = _subsidy_entry(kb, question)
    if entry is None:
        candidates = cues.topics().candidates.get(name, [])
        entry = entry_or_none(kb, doc_key(kb, candidates[0])) if candidates else None
    if entry is None:
        return compose.no_answer()
    if entry.kind == "target":
        return compose.target_answer(kb, [entry], entry.title)
    if entry.kind == "document":
        return compose.document(kb)
    topic = " ".join(question.entities.get("topic", [])) or entry.title
    return compose.quote(kb, entry, topic)


def _subsidy_entry(kb: KnowledgeBase, question: Question) -> Entry | None:
    kind = cues.subsidy_kind(question)
    return entry_or_none(kb, doc_key(kb, str(kind["entry"]))) if kind else None


def referenced_entry(kb: KnowledgeBase, question: Question) -> Entry | None:
    """The entry a question names (第13条, 三（二）, 二（八）13), if it exists in the plan."""
    ref = cues.parse_reference(question.said)
    if ref is None:
        return None
    found = entry_or_none(kb, doc_key(kb, ref))
    if found is not None or not ref.startswith("二"):
        return found
    for action in kb.actions():
        if action.ref == ref and action.keys:
            return entry_or_none(kb, action.keys[0])
    return None


def department_named(kb: KnowledgeBase, question: Question) -> str | None:
    """The department a question names: its entity, else the longest name or alias in it."""
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


# --- the console's search -------------------------------------------------------------------

SEARCH_KINDS = ("item", "safeguard", "target")


def search(
    kb: KnowledgeBase,
    text: str,
    parsed: dict | None = None,
    decision: Decision | None = None,
    limit: int = 8,
) -> list[Entry]:
    """Entries for a caller's words, for the hotline console: the entry the chat would cite for
    the same words first (when Rasa's parse and the fitted decision are at hand), then the
    ranker's order."""
    first: list[str] = []
    if decision is not None:
        parsed = parsed or {}
        intent = parsed.get("intent") or {}
        answer = respond(
            text,
            intent.get("name"),
            intent.get("confidence"),
            parsed.get("entities") or [],
            kb=kb,
            ranking=parsed.get("intent_ranking") or [],
            decision=decision,
            words_ranking=parsed.get(WORDS_RANKING),
        )
        first = [s["key"] for s in answer.sources[:1] if s.get("kind") != "document"]
    ranked = [r.key for r in rank(kb, text, kinds=SEARCH_KINDS) if r.score > 0]
    order = list(dict.fromkeys(first + ranked))
    return [kb.entry(k) for k in order[:limit]]
