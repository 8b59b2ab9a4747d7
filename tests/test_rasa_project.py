"""The Rasa project agrees with itself: domain, rules, training data, actions and wording."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import actions
from knowledge import wording
from knowledge.answering import SMALL_TALK, topics
from knowledge.yaml_files import load_yaml

ROOT = Path(__file__).resolve().parents[1]


def load(path: Path) -> dict:
    return load_yaml(path) or {}


@pytest.fixture(scope="module")
def domain() -> dict:
    return load(ROOT / "domain.yml")


def action_classes() -> dict[str, type]:
    from rasa_sdk import Action

    found = {}
    for module in pkgutil.iter_modules(actions.__path__):
        mod = importlib.import_module(f"actions.{module.name}")
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if issubclass(cls, Action) and cls is not Action and cls.__module__ == mod.__name__:
                found[cls().name()] = cls
    return found


def nlu_intents() -> set[str]:
    intents = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in load(path).get("nlu", []) or []:
            if "intent" in block:
                intents.add(block["intent"])
    return intents


def rules() -> list[dict]:
    return load(ROOT / "data" / "rules.yml")["rules"]


def test_every_domain_action_is_implemented_and_back(domain):
    assert set(domain["actions"]) == set(action_classes())


def test_every_intent_is_answered_by_a_custom_action_rule_or_the_form(domain):
    by_intent = {}
    for rule in rules():
        steps = rule["steps"]
        if "condition" in rule:  # the form's end: not started by an intent
            continue
        assert "intent" in steps[0] and "action" in steps[1], rule
        assert steps[1]["action"] in [*domain["actions"], *domain.get("forms", {})]
        by_intent[steps[0]["intent"]] = steps[1]["action"]
    assert set(by_intent) == set(domain["intents"]) | {"nlu_fallback"}
    assert by_intent["check_situation"] == "situation_form"


def test_the_situation_form_asks_what_wording_says_with_a_skip_button(domain):
    form = domain["forms"]["situation_form"]["required_slots"]
    assert form == list(wording.SITUATION_QUESTIONS)
    for facet, (question, options) in wording.SITUATION_QUESTIONS.items():
        [response] = domain["responses"][f"utter_ask_{facet}"]
        assert response["text"] == question
        titles = [b["title"] for b in response["buttons"]]
        assert titles == [*options, wording.SITUATION_SKIP]
        # A button sends its own words, which read as the answer they name.
        assert all(b["payload"] == b["title"] for b in response["buttons"])
        slot = domain["slots"][facet]
        assert slot["influence_conversation"] is False and slot["mappings"] == [{"type": "custom"}]


def test_the_situation_form_ends_in_its_result(domain):
    [end] = [r for r in rules() if "condition" in r]
    assert end["condition"] == [{"active_loop": "situation_form"}]
    assert end["steps"][-1] == {"action": "action_situation_result"}


def test_every_intent_has_training_examples(domain):
    missing = set(domain["intents"]) - nlu_intents() - {"nlu_fallback"}
    assert not missing, f"intents without examples in data/nlu: {sorted(missing)}"
    assert nlu_intents() <= set(domain["intents"])


def test_every_response_used_exists_and_says_what_wording_says(domain):
    responses = domain["responses"]
    used = set()
    for path in [
        *(ROOT / "actions").glob("*.py"),
        *(ROOT / "knowledge" / "answering").glob("*.py"),
    ]:
        used |= set(re.findall(r"[\"'](utter_\w+)[\"']", path.read_text(encoding="utf-8")))
    used |= set(SMALL_TALK.values())
    assert used <= set(responses), used - set(responses)
    for name, text in wording.RESPONSES.items():
        assert [r["text"] for r in responses[name]] == [text], name


def test_actions_use_response_not_template():
    for path in (ROOT / "actions").glob("*.py"):
        assert "template=" not in path.read_text(encoding="utf-8"), path


def test_slots_are_set_by_actions_only(domain):
    for name in ("last_keys", "last_query", "shown_keys"):
        slot = domain["slots"][name]
        assert slot["influence_conversation"] is False
        assert slot["mappings"] == [{"type": "custom"}]


def test_topics_only_name_domain_intents(domain):
    assert set(topics().candidates) <= set(domain["intents"])


def test_config_pipeline_and_policies():
    config = load(ROOT / "config.yml")
    assert config["language"] == "zh" and config.get("assistant_id")
    names = [c["name"] for c in config["pipeline"]]
    assert (
        names[0] == "JiebaTokenizer" and config["pipeline"][0]["dictionary_path"] == "build/jieba"
    )
    assert {
        "SpacyNLP",
        "DIETClassifier",
        "SpacyEntityExtractor",
        "RegexEntityExtractor",
        "EntitySynonymMapper",
        "FallbackClassifier",
    } <= set(names)
    diet = next(c for c in config["pipeline"] if c["name"] == "DIETClassifier")
    assert diet["epochs"] <= 100 and "random_seed" in diet
    assert "RulePolicy" in [p["name"] for p in config["policies"]]
