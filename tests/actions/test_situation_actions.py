"""The situation check's actions: the form's validation and the result (no Rasa server)."""

from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from actions.situation import ActionSituationResult, ValidateSituationForm
from knowledge import wording
from knowledge.situation.words import vocabulary

DOC = "黄政办发〔2022〕60号"
FACETS = vocabulary().order


def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def metas(messages) -> list[dict]:
    return [m["custom"]["meta"] for m in messages if m.get("custom")]


def texts(messages) -> list[str]:
    return [m["text"] for m in messages if m.get("text")]


def in_form(make_tracker, text, intent, asked, **filled):
    return make_tracker(text, intent, slots={"requested_slot": asked, **filled})


def test_a_story_at_the_start_fills_what_it_says_and_is_private(kb_env, make_tracker):
    tracker = in_form(
        make_tracker,
        "我是阳新县农村的，视力残疾，今年大学毕业，有哪些政策适合我",
        "check_situation",
        None,
    )
    messages, slots = run(ValidateSituationForm(), tracker)
    assert slots["disability"] == "视力" and slots["area"] == "阳新县"
    assert slots["settlement"] == "农村" and slots["situation"] == "在校或应届大学生"
    assert texts(messages) == [wording.SITUATION_INTRO]  # age is still to be asked
    [meta] = metas(messages)
    assert meta["private"] is True and meta["kind"] == "situation" and meta["sources"] == []


def test_a_plain_start_introduces_the_check_and_is_not_private(kb_env, make_tracker):
    messages, slots = run(
        ValidateSituationForm(),
        in_form(make_tracker, "看看我适合哪些政策", "check_situation", None),
    )
    assert texts(messages) == [wording.SITUATION_INTRO]
    assert metas(messages)[0]["private"] is False
    assert not any(slots.get(f) for f in FACETS)


def test_a_start_that_asks_one_thing_is_answered_and_ends_the_form(kb_env, make_tracker):
    # Rasa read a story as the situation check, the answer decision reads one question in it.
    tracker = make_tracker(
        "我是盲人，想开个按摩店，方案里有什么支持",
        "inform_situation",
        0.55,
        slots={"requested_slot": None},
        ranking=[("inform_situation", 0.55), ("ask_blind_massage", 0.4), ("out_of_scope", 0.05)],
    )
    messages, slots = run(ValidateSituationForm(), tracker)
    [meta] = metas(messages)
    assert meta["kind"] == "answer" and meta["sources"][0]["key"] == f"{DOC}#13"
    assert slots["situation_answered"] is True and slots["requested_slot"] is None
    assert not any(slots.get(f) for f in FACETS)
    # The form ends; its result says nothing more and clears the flag.
    done, cleared = run(
        ActionSituationResult(),
        make_tracker("x", "inform_situation", slots={"situation_answered": True}),
    )
    assert done == [] and cleared["situation_answered"] is None


def test_a_start_about_another_city_is_not_covered(kb_env, make_tracker):
    tracker = make_tracker(
        "在广州上班的残疾人回黄石能享受政策吗",
        "check_situation",
        0.5,
        slots={"requested_slot": None},
        ranking=[("check_situation", 0.5), ("out_of_scope", 0.45), ("ask_overview", 0.05)],
    )
    messages, slots = run(ValidateSituationForm(), tracker)
    assert metas(messages)[0]["kind"] == "out_of_scope" and slots["situation_answered"] is True


def test_a_button_answer_fills_its_slot(kb_env, make_tracker):
    _, slots = run(ValidateSituationForm(), in_form(make_tracker, "阳新县", "out_of_scope", "area"))
    assert slots["area"] == "阳新县" and slots["situation_misses"] == 0


def test_skip_fills_the_slot_with_skipped(kb_env, make_tracker):
    _, slots = run(
        ValidateSituationForm(), in_form(make_tracker, "不想说", "out_of_scope", "disability")
    )
    assert slots["disability"] == "不想说"


def test_stop_ends_the_form_at_any_step(kb_env, make_tracker):
    for asked in FACETS:
        messages, slots = run(
            ValidateSituationForm(), in_form(make_tracker, "算了", "goodbye", asked)
        )
        assert slots == {"situation_stopped": True, "requested_slot": None}, asked
        assert metas(messages)[0]["kind"] == "situation_stopped"


def test_a_policy_question_in_the_form_is_answered_and_the_form_goes_on(kb_env, make_tracker):
    tracker = in_form(
        make_tracker, "盲人医疗按摩考试谁来组织？", "ask_blind_massage", "situation", asker="本人"
    )
    messages, slots = run(ValidateSituationForm(), tracker)
    assert texts(messages)[0].startswith("根据方案，组织盲人参加盲人医疗按摩人员考试")
    [meta] = metas(messages)
    assert meta["sources"][0]["key"] == f"{DOC}#13"
    # The answer is remembered for follow-ups; the question asked stays open (no requested_slot
    # change), so the form asks it again.
    assert slots["last_keys"] == [f"{DOC}#13"] and "requested_slot" not in slots
    assert "situation" not in slots


def test_words_that_answer_nothing_are_asked_again_then_skipped(kb_env, make_tracker):
    messages, slots = run(ValidateSituationForm(), in_form(make_tracker, "嗯嗯", "greet", "area"))
    assert texts(messages) == [wording.SITUATION_NOT_UNDERSTOOD]
    assert slots == {"situation_misses": 1}
    messages, slots = run(
        ValidateSituationForm(),
        in_form(make_tracker, "嗯嗯", "greet", "area", situation_misses=1),
    )
    assert texts(messages) == [wording.SITUATION_SKIPPED_FOR_YOU]
    assert slots["area"] == "不想说" and slots["situation_misses"] == 0


def test_the_result_names_what_applies_then_clears_the_answers(kb_env, make_tracker):
    answers = {
        "asker": "本人",
        "disability": "视力",
        "age_group": "就业年龄段",
        "situation": "在校或应届大学生",
        "area": "阳新县",
        "settlement": "农村",
    }
    messages, slots = run(
        ActionSituationResult(), make_tracker("农村", "out_of_scope", slots=answers)
    )
    [meta] = metas(messages)
    keys = [s["key"].rpartition("#")[2] for s in meta["sources"]]
    assert "13" in keys and "8" in keys and {"10", "12"} & set(keys) and len(keys) <= 5
    assert meta["kind"] == "situation_result"
    assert all(slots[f] is None for f in FACETS)
    assert slots["situation_stopped"] is None
    # What was shown is the memory for 那找谁 / 详细说说.
    assert slots["last_keys"] == [s["key"] for s in meta["sources"]]


def test_after_stopping_the_result_says_so_and_cites_nothing(kb_env, make_tracker):
    messages, slots = run(
        ActionSituationResult(),
        make_tracker("算了", "goodbye", slots={"situation_stopped": True, "asker": "本人"}),
    )
    assert texts(messages) == [wording.SITUATION_STOPPED]
    assert metas(messages)[0]["sources"] == [] and slots["asker"] is None


def test_a_session_cut_in_the_middle_of_the_check_keeps_it_going(make_tracker):
    tracker = make_tracker(
        "/session_start",
        "session_start",
        slots={"asker": "本人", "disability": "视力", "requested_slot": "age_group"},
    )
    tracker.active_loop = {"name": "situation_form"}
    events = asyncio.run(ActionSessionStart().run(CollectingDispatcher(), tracker, {}))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "session_started" and kinds[-1] == "action"
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"asker": "本人", "disability": "视力", "requested_slot": "age_group"}
    assert {"event": "active_loop", "name": "situation_form"}.items() <= next(
        e for e in events if e["event"] == "active_loop"
    ).items()
