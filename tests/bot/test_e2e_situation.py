"""The situation check through the whole stack: /api/chat -> Rasa's form -> the actions."""

from __future__ import annotations

import sqlite3
import uuid

import httpx
import pytest

from bot.chat.service import PRIVATE_MESSAGE
from knowledge import wording

pytestmark = pytest.mark.e2e

QUESTIONS = {question: facet for facet, (question, _) in wording.SITUATION_QUESTIONS.items()}


def conversation(live_stack):
    sender = f"e2e-situation-{uuid.uuid4().hex[:8]}"

    def ask(message: str) -> dict:
        response = httpx.post(
            live_stack + "/api/chat",
            json={"sender": sender, "message": message},
            timeout=10,
            trust_env=False,
        )
        assert response.status_code == 200, response.text
        return response.json()

    return ask


def asked_facet(reply: dict) -> str | None:
    """The question the reply ends with, if it asks one of the check's questions."""
    last = reply["replies"][-1]["text"]
    return QUESTIONS.get(last)


def items(reply: dict) -> list[str]:
    return [str(s["item"] or s["ref"]) for s in reply["sources"]]


def run_check(ask, start: str, answers: dict[str, str]) -> dict:
    """Start the check, answer each question it asks from `answers`, return the result."""
    reply = ask(start)
    for _ in range(len(wording.SITUATION_QUESTIONS) + 1):
        facet = asked_facet(reply)
        if facet is None:
            return reply
        reply = ask(answers[facet])
    pytest.fail(f"the check did not end: {reply}")


BLIND_GRADUATE = {
    "asker": "我自己",
    "disability": "眼睛看不见，是盲人",
    "age_group": "二十三岁",
    "situation": "今年刚从大学毕业",
    "area": "阳新县",
    "settlement": "村里",
}


def test_a_blind_graduate_from_a_village_in_yangxin_answered_in_free_text(live_stack):
    ask = conversation(live_stack)
    first = ask("看看我适合哪些政策")
    assert asked_facet(first) == "asker"
    assert [b["title"] for b in first["replies"][-1]["buttons"]][-1] == "不想说"
    reply = first
    seen = []
    while (facet := asked_facet(reply)) is not None:
        seen.append(facet)
        reply = ask(BLIND_GRADUATE[facet])
    result = reply
    assert seen == list(wording.SITUATION_QUESTIONS)  # every question asked once, in order
    shown = items(result)
    assert "13" in shown and "8" in shown and {"10", "12"} & set(shown), result
    assert len(shown) <= 5
    text = result["replies"][0]["text"]
    assert "已经结束" in text and text.endswith("还想问什么？")
    # A follow-up after the result refers to what was shown.
    assert ask("那找谁")["sources"], "the result is the conversation's memory"


def test_a_story_fills_the_check_at_once_and_only_the_rest_is_asked(live_stack):
    ask = conversation(live_stack)
    reply = ask("我是阳新县农村的，视力残疾，今年大学毕业，有哪些政策适合我")
    assert asked_facet(reply) == "age_group", reply
    result = ask("22岁")
    shown = items(result)
    assert "13" in shown and "8" in shown and {"10", "12"} & set(shown), result


def test_an_employer_gets_items_among_1_to_4(live_stack):
    ask = conversation(live_stack)
    result = run_check(ask, "看看我适合哪些政策", {"asker": "我们是公司，想招残疾人"})
    shown = items(result)
    assert shown and set(shown) <= {"1", "2", "3", "4", "三（二）"}, result


@pytest.mark.parametrize("answered", range(len(wording.SITUATION_QUESTIONS)))
def test_stopping_works_at_every_step(live_stack, answered):
    ask = conversation(live_stack)
    reply = ask("看看我适合哪些政策")
    for _ in range(answered):
        reply = ask(BLIND_GRADUATE[asked_facet(reply)])
    assert asked_facet(reply) is not None
    stopped = ask("算了")
    assert stopped["replies"][0]["text"] == wording.SITUATION_STOPPED and stopped["sources"] == []
    # The form is over: a question is answered as a question, not read as an answer.
    after = ask("盲人按摩考试谁组织？")
    assert items(after)[:1] == ["13"] and asked_facet(after) is None


def test_a_policy_question_in_the_middle_is_answered_and_the_check_goes_on(live_stack):
    ask = conversation(live_stack)
    reply = ask("看看我适合哪些政策")
    reply = ask("我是家属")
    assert asked_facet(reply) == "disability"
    answered = ask("公益性岗位有补贴吗？")
    assert items(answered)[:1] == ["7"], answered
    assert asked_facet(answered) == "disability"  # asked again after the answer
    skipped = ask("不想说")
    assert asked_facet(skipped) == "age_group"


def test_the_log_never_holds_the_answers_in_clear(live_stack):
    ask = conversation(live_stack)
    run_check(ask, "看看我适合哪些政策", BLIND_GRADUATE)
    db = sqlite3.connect(live_stack.conversation_db)
    try:
        messages = [row[0] for row in db.execute("select message from turns")]
    finally:
        db.close()
    assert PRIVATE_MESSAGE in messages
    for answer in BLIND_GRADUATE.values():
        if answer != "我自己":  # who is asking is not about a disability, and is logged
            assert answer not in messages, answer
