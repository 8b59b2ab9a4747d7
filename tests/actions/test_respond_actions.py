"""The actions: read the tracker, answer through knowledge.answering, utter, set slots."""

from __future__ import annotations

import asyncio
import threading

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import reply
from actions.respond import ActionRespond
from actions.session import ActionSessionStart
from knowledge import store, wording
from knowledge.store import open_kb

DOC = "黄政办发〔2022〕60号"


def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def meta_of(messages) -> dict:
    customs = [m["custom"] for m in messages if m.get("custom")]
    assert len(customs) == 1, messages
    return customs[0]["meta"]


def test_policy_answer_utters_text_buttons_then_one_meta(kb_env, make_tracker):
    tracker = make_tracker(
        "我是盲人，想考医疗按摩的证，有人组织吗？",
        "ask_blind_massage",
        0.93,
        [{"entity": "group", "value": "盲人"}],
    )
    messages, slots = run(ActionRespond(), tracker)
    assert len(messages) == 2
    assert messages[0]["text"].startswith("根据方案，组织盲人参加盲人医疗按摩人员考试")
    assert [b["title"] for b in messages[0]["buttons"]] == ["详细说说", "找谁办", "还有别的吗"]
    meta = meta_of(messages)
    assert meta["intent"] == {"name": "ask_blind_massage", "confidence": 0.93}
    assert meta["sources"][0]["key"] == f"{DOC}#13" and meta["kind"] == "answer"
    assert meta["handoff"] is False
    assert slots == {
        "last_keys": [f"{DOC}#13"],
        "last_query": tracker.latest_message["text"],
        "shown_keys": [f"{DOC}#13"],
    }


def test_follow_up_reads_the_slots_and_extends_shown_keys(kb_env, make_tracker):
    slots = {"last_keys": [f"{DOC}#13"], "last_query": "盲人按摩", "shown_keys": [f"{DOC}#13"]}
    messages, _ = run(
        ActionRespond(), make_tracker("那找谁", "ask_responsible", slots=slots)
    )
    assert "市卫健委" in messages[0]["text"] and meta_of(messages)["kind"] == "departments"

    messages, new_slots = run(
        ActionRespond(), make_tracker("还有别的吗", "ask_more", slots=slots)
    )
    assert meta_of(messages)["sources"][0]["key"] == f"{DOC}#14"
    assert new_slots["shown_keys"] == [f"{DOC}#13", f"{DOC}#14"]
    assert new_slots["last_query"] == "盲人按摩"


@pytest.mark.parametrize(
    "action, text, intent, response, handoff",
    [
        (ActionRespond(), "你好", "greet", "utter_greet", False),
        (ActionRespond(), "谢谢", "thanks", "utter_thanks", False),
        (ActionRespond(), "转人工", "ask_human", "utter_handoff", True),
        (ActionRespond(), "残疾证怎么办", "out_of_scope", "utter_out_of_scope", False),
    ],
)
def test_fixed_replies_use_domain_responses(
    kb_env, make_tracker, action, text, intent, response, handoff
):
    messages, slots = run(action, make_tracker(text, intent))
    assert messages[0]["response"] == response
    meta = meta_of(messages)
    assert meta["handoff"] is handoff and meta["sources"] == []
    assert slots == {}  # nothing cited, the conversation memory stays as it was


def test_actions_give_answering_the_whole_intent_ranking(kb_env, make_tracker, monkeypatch):
    from actions import reply

    seen = {}
    real = reply.respond

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(reply, "respond", spy)
    tracker = make_tracker("盲人按摩", "nlu_fallback", 0.4)
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "ask_blind_massage", "confidence": 0.35},
        {"name": "ask_training", "confidence": 0.3},
    ]
    tracker.latest_message["intent_ranking"] = ranking
    messages, _ = run(ActionRespond(), tracker)
    assert seen["ranking"] == ranking and seen["intent"] == "nlu_fallback"
    assert meta_of(messages)["kind"]


def test_missing_decision_hands_off(kb_env, make_tracker, monkeypatch, tmp_path):
    monkeypatch.setenv("DECISION_MODEL", str(tmp_path / "missing.json"))
    messages, slots = run(
        ActionRespond(), make_tracker("盲人按摩有什么支持", "ask_blind_massage")
    )
    assert meta_of(messages)["handoff"] is True and meta_of(messages)["sources"] == []
    assert slots == {}


def test_out_of_scope_response_names_the_plan(kb_env, make_tracker):
    from knowledge.store import open_kb

    messages, _ = run(ActionRespond(), make_tracker("残疾证怎么办", "out_of_scope"))
    assert messages[0]["response"] == "utter_out_of_scope"
    assert messages[0]["plan_title"] == open_kb().document().title


def test_missing_knowledge_base_hands_off(monkeypatch, tmp_path, make_tracker):
    from knowledge.store import open_kb

    monkeypatch.setenv("KNOWLEDGE_DB", str(tmp_path / "missing.db"))
    open_kb.cache_clear()
    messages, slots = run(ActionRespond(), make_tracker("盲人按摩", "ask_blind_massage"))
    assert messages[0]["response"] == "utter_kb_unavailable"
    meta = meta_of(messages)
    assert meta["handoff"] is True and meta["sources"] == [] and slots == {}
    assert wording.HOTLINE in wording.KB_UNAVAILABLE


def test_hand_off_promises_no_transfer_and_phone_questions_get_no_number(kb_env, make_tracker):
    messages, _ = run(ActionRespond(), make_tracker("转人工", "ask_human", 0.98))
    assert messages[0]["response"] == "utter_handoff" and meta_of(messages)["handoff"] is True
    assert "正在为您转接" not in wording.HANDOFF and wording.HOTLINE in wording.HANDOFF

    messages, slots = run(ActionRespond(), make_tracker("残联电话多少", "ask_human", 0.99))
    assert messages[0]["response"] == "utter_contact"
    meta = meta_of(messages)
    assert meta["handoff"] is True and meta["sources"] == [] and slots == {}


def test_detail_button_of_one_entry_answers_that_entry(kb_env, make_tracker):
    slots = {"last_keys": [f"{DOC}#13"], "last_query": "盲人按摩", "shown_keys": [f"{DOC}#13"]}
    tracker = make_tracker(
        '/ask_detail{"entry":"黄政办发〔2022〕60号#14"}',
        "ask_detail",
        1.0,
        [{"entity": "entry", "value": f"{DOC}#14"}],
        slots=slots,
    )
    messages, new_slots = run(ActionRespond(), tracker)
    meta = meta_of(messages)
    assert meta["kind"] == "detail" and meta["sources"][0]["key"] == f"{DOC}#14"
    assert messages[0]["text"].startswith(f"{DOC} 二（八）第14条 原文")
    assert new_slots["last_keys"] == [f"{DOC}#14"]
    assert new_slots["shown_keys"] == [f"{DOC}#13", f"{DOC}#14"]


def _run_together(*runs):
    """Run (action, tracker) pairs at once on one event loop, as the action server does."""

    async def together():
        dispatchers = [CollectingDispatcher() for _ in runs]
        await asyncio.gather(
            *(action.run(d, tracker, {}) for d, (action, tracker) in zip(dispatchers, runs))
        )
        return [d.messages for d in dispatchers]

    return asyncio.run(together())


def test_answers_are_worked_out_off_the_event_loop(kb_env, make_tracker, monkeypatch):
    # Each answer waits until the other one is being worked out too: that only happens when
    # neither blocks the event loop (the action server has one).
    blind = make_tracker("盲人按摩考试谁组织", "ask_blind_massage")
    hello = make_tracker("你好", "greet")
    expected = [run(ActionRespond(), blind)[0], run(ActionRespond(), hello)[0]]
    both_busy = threading.Barrier(2, timeout=10)
    real_respond = reply.respond

    def respond(**kwargs):
        both_busy.wait()
        return real_respond(**kwargs)

    monkeypatch.setattr(reply, "respond", respond)
    together = _run_together((ActionRespond(), blind), (ActionRespond(), hello))
    assert together == expected
    assert meta_of(together[0])["sources"][0]["key"] == f"{DOC}#13"


def test_concurrent_first_answers_share_one_knowledge_base(kb_env, make_tracker, monkeypatch):
    opened = []

    class CountedKnowledgeBase(store.KnowledgeBase):
        def __init__(self, path):
            opened.append(path)
            super().__init__(path)

    monkeypatch.setattr(store, "KnowledgeBase", CountedKnowledgeBase)
    open_kb.cache_clear()  # both runs open it at once
    questions = [
        make_tracker("盲人按摩考试谁组织", "ask_blind_massage"),
        make_tracker("残疾人大学生就业有什么帮扶", "ask_graduate"),
    ]
    together = _run_together(*((ActionRespond(), t) for t in questions))
    assert len(opened) == 1
    alone = [run(ActionRespond(), t)[0] for t in questions]
    assert together == alone


def test_a_new_session_keeps_only_the_memory_slots_current_values(make_tracker):
    tracker = make_tracker(
        "/session_start",
        "session_start",
        slots={"last_keys": [f"{DOC}#13"], "last_query": "盲人按摩", "shown_keys": None},
    )
    events = asyncio.run(ActionSessionStart().run(CollectingDispatcher(), tracker, {}))
    assert [e["event"] for e in events] == ["session_started", "slot", "slot", "action"]
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"} == {
        "last_keys": [f"{DOC}#13"],
        "last_query": "盲人按摩",
    }
    assert events[-1]["name"] == "action_listen"
