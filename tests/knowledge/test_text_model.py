"""The development text model: learns entry and reply labels from words, survives the JSON it
is kept in, and is stacked (a question's inputs never come from a model that saw its label)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from knowledge.answering import open_decision
from knowledge.answering.decision import Decision, choose, entry_features, gather, with_text
from knowledge.answering.fitting import Example, _stacked_text, fit, route_of
from knowledge.answering.question import Question
from knowledge.answering.text_model import TextModel, fit_text_model, terms

TOY = [
    ("盲人按摩考证", "13"),
    ("看不见的人学推拿", "13"),
    ("推拿按摩证怎么考", "13"),
    ("残疾人办烟草证", "2"),
    ("卖烟的许可证", "2"),
    ("烟草零售许可怎么办", "2"),
    ("残保金怎么入账", "out_of_scope"),
    ("残保金会计分录", "out_of_scope"),
    ("残保金交多少", "out_of_scope"),
]


def test_terms_are_words_and_character_grams_of_the_simplified_text():
    found = terms("盲人按摩")
    assert found["w:盲人按摩"] == 1 or found["w:盲人"] == 1
    assert {"盲", "盲人", "盲人按"} <= set(found)
    assert set(terms("殘疾人")) == set(terms("残疾人"))


def test_it_learns_the_labels_and_survives_the_json():
    model = fit_text_model([t for t, _ in TOY], [label for _, label in TOY])
    probs = model.probabilities("看不见能学按摩吗")
    assert max(probs, key=probs.get) == "13"
    assert max(model.probabilities("烟草证"), key=lambda k: model.probabilities("烟草证")[k]) == "2"
    assert sum(probs.values()) == pytest.approx(1.0)
    again = TextModel.from_dict(json.loads(json.dumps(model.to_dict())))
    for text in ("看不见能学按摩吗", "残保金", "完全无关的话"):
        assert again.probabilities(text) == pytest.approx(model.probabilities(text), abs=1e-5)


def test_a_question_never_gets_inputs_from_a_model_that_saw_its_label():
    """Stacking: one question carries a label nothing else has; the model that scores it was
    fitted without it, so that label has no probability at all."""
    rows = TOY * 3 + [("一句独一无二的话", "三（四）")]
    examples = [Example(t, [label], [], []) for t, label in rows]
    stacked = _stacked_text(examples, [route_of(e.expect[0]) for e in examples])
    assert "三（四）" not in stacked[-1]
    assert stacked[0]["13"] > stacked[0]["2"]


def test_the_fitted_decision_keeps_the_text_model_and_answers_with_it(kb):
    decision = open_decision()
    assert decision.text is not None and "text:prob" in decision.entry.features
    assert Decision.from_json(decision.to_json()).text.classes == decision.text.classes
    question = Question.of("看不见的人能学推拿吗", "ask_blind_massage", 0.9)
    probabilities = decision.text.probabilities(question.said)
    evidence = with_text(gather(kb, question), probabilities)
    assert evidence.text == probabilities
    key = f"{kb.document().number}#13"
    assert entry_features(kb, evidence)[key]["text:prob"] == probabilities["13"]
    # choose() reads it: without the text model the entries weigh differently.
    with_model = dict(choose(kb, question, decision).entries)
    without = dict(choose(kb, question, replace(decision, text=None)).entries)
    assert with_model[key] != without[key]


def test_the_route_reads_the_reply_kinds_but_not_single_entries(kb):
    """The route model reads the text model's small talk, hand-off, "not covered" …
    probabilities; which entry answers is the entry model's business."""
    question = Question.of("你好", "greet", 0.9)
    evidence = with_text(gather(kb, question), {"smalltalk": 0.8, "out_of_scope": 0.1, "13": 0.1})
    assert evidence.route["text:smalltalk"] == 0.8 and evidence.route["text:handoff"] == 0.0
    assert evidence.route["text:out_of_scope"] == 0.1
    assert not any(n in evidence.route for n in ("text:13", "text:entry"))
    decision = open_decision()
    assert {"text:smalltalk", "text:out_of_scope"} <= set(decision.route.features)
    assert "text:prob" not in decision.route.features


def test_questions_answered_by_rules_are_left_out_of_the_fit(kb):
    """A phone request is answered before the decision is asked: it is not fitted on."""
    rows = [(t, "13") for t, _ in TOY[:3]] * 4 + [(t, "out_of_scope") for t, _ in TOY[6:]] * 4
    ranking = [{"name": "ask_blind_massage", "confidence": 0.9}]
    examples = [Example(t, [label], ranking, []) for t, label in rows]
    phone = Example("黄石市残联电话", ["handoff"], [{"name": "ask_human", "confidence": 0.9}], [])
    decision = fit(kb, [*examples, phone], strengths=(1.0, 1.0))
    assert decision.report["examples"] == len(examples)
    assert decision.report["answered_by_rules"] == 1
