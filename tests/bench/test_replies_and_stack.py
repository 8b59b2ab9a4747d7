import json
import os

from bot.settings import Settings
from tests.bench import replies, stack


def body(text):
    return {"sender": "s", "replies": [{"text": text, "buttons": []}], "sources": []}


def test_classify_replies():
    assert replies.classify(200, body("方案里说……")) == replies.ANSWER
    assert replies.classify(200, body(replies.UNAVAILABLE_TEXT)) == replies.UNAVAILABLE
    assert replies.classify(200, body("太忙"), busy_text="太忙") == replies.BUSY
    assert replies.classify(503, body("太忙"), busy_text="太忙") == replies.BUSY
    assert replies.classify(200, body("太忙"), busy_text=None) == replies.ANSWER
    assert replies.classify(500, body("方案里说……")) == replies.ERROR
    assert replies.classify(200, {"replies": []}) == replies.ERROR
    assert replies.classify(200, "not json") == replies.ERROR


STACK_JSON = {
    "launcher": {"pid": 123},
    "gateway": {"pid": 1, "url": "http://127.0.0.1:8000"},
    "action_server": {"pid": 2, "url": "http://127.0.0.1:5055"},
    "rasa": [
        {"pid": 3, "url": "http://127.0.0.1:5005"},
        {"pid": 4, "url": "http://127.0.0.1:5006"},
    ],
}


def test_parse_stack_file():
    procs = stack.parse_stack_file(STACK_JSON)
    assert [(p.label, p.pid) for p in procs] == [
        ("launcher", 123),
        ("gateway", 1),
        ("action_server", 2),
        ("rasa", 3),
        ("rasa-2", 4),
    ]
    single = stack.parse_stack_file(STACK_JSON | {"rasa": {"pid": 3, "url": "u"}})
    assert [p.label for p in single if p.role == "rasa"] == ["rasa"]


def with_pids(pid):
    data = json.loads(json.dumps(STACK_JSON))
    for entry in [data["launcher"], data["gateway"], data["action_server"], *data["rasa"]]:
        entry["pid"] = pid
    return data


def test_stack_file_of_a_running_stack_is_used(tmp_path):
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(with_pids(os.getpid())))
    found = stack.from_stack_file(path, "http://127.0.0.1:8000")
    assert found is not None and found.found_by == "stack.json"
    assert found.rasa_urls == ["http://127.0.0.1:5005", "http://127.0.0.1:5006"]


def test_stack_file_left_over_or_of_another_gateway_is_ignored(tmp_path):
    path = tmp_path / "stack.json"
    assert stack.from_stack_file(path, "http://127.0.0.1:8000") is None  # absent
    path.write_text(json.dumps(with_pids(os.getpid())))
    assert stack.from_stack_file(path, "http://127.0.0.1:8001") is None
    dead = 2**22 + 1  # above the kernel's pid_max default
    path.write_text(json.dumps(with_pids(dead)))
    assert stack.from_stack_file(path, "http://127.0.0.1:8000") is None


def test_rasa_urls_from_the_settings():
    settings = Settings(rasa_url="http://127.0.0.1:6005")
    urls = stack.rasa_urls_of(settings)
    assert urls[0] == "http://127.0.0.1:6005"
    assert urls[1] == "http://127.0.0.1:6006"
