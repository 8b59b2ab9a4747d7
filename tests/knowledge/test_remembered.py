"""Wordings staff labelled in the review loop are answered as labelled, however they are typed;
other wordings, buttons and follow-ups are untouched."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from knowledge.answering import open_decision, respond
from knowledge.answering.decision import Decision
from knowledge.answering.remembered import remembered_labels, wording_key

# A story-like question the plan's words do not carry: Rasa's guess here is out_of_scope.
ASKED = "帮残疾人找活的那种老师叫啥"
GUESS = ("out_of_scope", 0.9)
DOC = "黄政办发〔2022〕60号"


def labelled(*pairs: tuple[str, str]) -> Decision:
    return replace(
        open_decision(), remembered=remembered_labels([{"q": q, "expect": e} for q, e in pairs])
    )


def cited(answer) -> str | None:
    return answer.sources[0]["key"].rpartition("#")[2] if answer.sources else None


def test_the_decision_alone_does_not_answer_it_with_item_18(kb):
    # The precondition of the tests below: without the label, it is not item 18.
    assert cited(respond(ASKED, *GUESS, kb=kb, decision=open_decision())) != "18"


@pytest.mark.parametrize(
    "typed",
    [
        ASKED,
        "帮残疾人找活的那种老师叫啥？",
        "幫殘疾人找活的那種老師叫啥",
        " 帮 残疾人找活的那种老师叫啥!!",
    ],
)
def test_a_labelled_wording_gets_its_entry_however_it_is_typed(kb, typed):
    answer = respond(typed, *GUESS, kb=kb, decision=labelled((ASKED, "18")))
    assert answer.kind == "answer" and cited(answer) == "18", answer


def test_other_wordings_are_left_to_the_decision(kb):
    other = "帮残疾人找活的老师在哪里"
    plain = respond(other, *GUESS, kb=kb, decision=open_decision())
    taught = respond(other, *GUESS, kb=kb, decision=labelled((ASKED, "18")))
    assert (taught.kind, cited(taught)) == (plain.kind, cited(plain))


def test_not_covered_and_hand_off_labels(kb):
    asked = "盲人按摩考试怎么报名"
    assert cited(respond(asked, "ask_blind_massage", 0.9, kb=kb, decision=open_decision())) == "13"
    answer = respond(
        asked, "ask_blind_massage", 0.9, kb=kb, decision=labelled((asked, "out_of_scope"))
    )
    assert answer.kind == "out_of_scope" and not answer.sources
    answer = respond(asked, "ask_blind_massage", 0.9, kb=kb, decision=labelled((asked, "handoff")))
    assert answer.handoff and not answer.sources


def test_a_label_that_is_no_entry_of_the_plan_falls_back_to_the_decision(kb):
    plain = respond(ASKED, *GUESS, kb=kb, decision=open_decision())
    answer = respond(ASKED, *GUESS, kb=kb, decision=labelled((ASKED, "99")))
    assert (answer.kind, cited(answer)) == (plain.kind, cited(plain))


def test_labels_that_need_the_turns_own_reading_are_not_remembered():
    labels = remembered_labels(
        [{"q": "补贴", "expect": "clarify"}, {"q": "你好", "expect": "smalltalk"}]
    )
    assert labels == {}


def test_a_relabel_replaces_the_earlier_label():
    labels = remembered_labels([{"q": ASKED, "expect": "1"}, {"q": ASKED + "？", "expect": "18"}])
    assert labels == {wording_key(ASKED): "18"}


def test_a_button_is_not_taken_for_its_words(kb):
    # A button's payload names its entry; a label of the same characters must not override it.
    payload = f'/ask_item{{"entry":"{DOC}#13"}}'
    entities = [{"entity": "entry", "value": f"{DOC}#13"}]
    decision = labelled((payload, "out_of_scope"))
    assert cited(respond(payload, "ask_item", 1.0, entities, kb=kb, decision=decision)) == "13"


def test_the_decision_file_keeps_the_labels_and_older_files_still_load():
    decision = labelled((ASKED, "18"))
    assert Decision.from_json(decision.to_json()).remembered == {wording_key(ASKED): "18"}
    older = json.loads(decision.to_json())
    del older["remembered"]
    assert Decision.from_json(json.dumps(older)).remembered == {}
