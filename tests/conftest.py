"""Fixtures shared by every test folder: the live stack (action server + Rasa + gateway)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# `tests.fakes` and friends are imported as modules of the `tests` namespace package, which
# needs the repository root on sys.path (pytest only adds the conftest folders themselves).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
# Overridable, so two people can run the end-to-end tests on one machine at once.
LIVE_GATEWAY_PORT = int(os.environ.get("LIVE_GATEWAY_PORT", "18090"))
LIVE_RASA_PORT = int(os.environ.get("LIVE_RASA_PORT", "15005"))
LIVE_ACTION_PORT = int(os.environ.get("LIVE_ACTION_PORT", "15055"))
LIVE_STARTUP_SECONDS = 420  # Rasa alone needs 30-60 s to load on two cores; more when busy


class LiveStack(str):
    """The gateway's base URL (a str, so `live_stack + "/api/chat"` works) and its files."""

    log_dir: Path
    conversation_db: Path


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory):
    """Start `python -m bot run` on test ports with the built KB and trained model; yield its URL
    (a LiveStack: also `.log_dir`, the children's log files, and `.conversation_db`)."""
    missing = [
        p
        for p in ("models/assistant.tar.gz", "models/decision.json", "build/knowledge.db")
        if not (REPO_ROOT / p).is_file()
    ]
    if missing:
        pytest.fail(f"live_stack needs {', '.join(missing)}: run `make setup` first")
    work = tmp_path_factory.mktemp("live_stack")
    env = {
        **os.environ,
        "APP_ENV": "development",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(LIVE_GATEWAY_PORT),
        "RASA_URL": f"http://127.0.0.1:{LIVE_RASA_PORT}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{LIVE_ACTION_PORT}",
        "KNOWLEDGE_DB": str(REPO_ROOT / "build" / "knowledge.db"),
        "DECISION_MODEL": str(REPO_ROOT / "models" / "decision.json"),
        "CONVERSATION_DB": str(work / "conversations.db"),
        "RASA_TRACKER_DB": str(work / "rasa_tracker.db"),  # the tracker store the launcher writes
        "LOG_DIR": str(work / "logs"),
        "PYTHONUNBUFFERED": "1",
    }
    launcher_log = open(work / "launcher.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=launcher_log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{LIVE_GATEWAY_PORT}"
    deadline = time.monotonic() + LIVE_STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"`python -m bot run` exited ({process.returncode}):\n"
                    f"{_tail(work / 'launcher.log')}"
                )
            try:
                health = httpx.get(base + "/healthz", timeout=5, trust_env=False).json()
                # The launcher writes the stack file once Rasa is also warmed up.
                if health.get("status") == "ok" and (work / "run" / "stack.json").is_file():
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the live stack was not healthy after {LIVE_STARTUP_SECONDS} s:\n"
                    f"{_tail(work / 'launcher.log')}"
                )
            time.sleep(2)
        stack = LiveStack(base)
        stack.log_dir = work / "logs"
        stack.conversation_db = work / "conversations.db"
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        launcher_log.close()


# --- a fitted answer decision for tests that answer without the trained model ---------------

# The intent a perfect NLU would give each kind of label (the first intent whose candidates
# name the entry; see knowledge/topics.yml).
_ROUTE_INTENTS = {
    "out_of_scope": "out_of_scope",
    "handoff": "ask_human",
    "clarify": "ask_subsidy",
    "document": "ask_document",
    "overview": "ask_overview",
    "smalltalk": "greet",
}


def perfect_intent(expect: str) -> str:
    from knowledge.answering import topics

    if expect in _ROUTE_INTENTS:
        return _ROUTE_INTENTS[expect]
    if expect.startswith("department:"):
        return "ask_department"
    if expect.startswith("target-"):
        return "ask_targets"
    return next(name for name, keys in topics().candidates.items() if expect in keys)


@pytest.fixture(scope="session", autouse=True)
def test_decision(tmp_path_factory):
    """A decision fitted on the development questions as a perfect NLU would parse them (the
    top intent at 0.9), on a throwaway knowledge base; DECISION_MODEL points at it, so no test
    reads the working tree's models/decision.json."""
    from knowledge.answering.fitting import Example, fit
    from knowledge.build import build
    from knowledge.store import open_kb
    from tests.eval import sets

    work = tmp_path_factory.mktemp("decision")
    plan = REPO_ROOT / "knowledge" / "sources" / "hs-2022-60.md"
    kb = open_kb(build(sources=[plan], db_path=work / "knowledge.db", tagger=lambda s: []))
    examples = []
    for q in sets.dev():
        expect = sets.expectations(q)
        intent = perfect_intent(expect[0])
        ranking = [
            {"name": intent, "confidence": 0.9},
            {"name": "out_of_scope", "confidence": 0.05},
        ]
        if intent == "out_of_scope":
            ranking = [
                {"name": intent, "confidence": 0.9},
                {"name": "ask_training", "confidence": 0.05},
            ]
        examples.append(Example(str(q["q"]), expect, ranking, []))
    decision = fit(kb, examples, grid=(1.0,))
    path = work / "decision.json"
    path.write_text(decision.to_json(), encoding="utf-8")
    old = os.environ.get("DECISION_MODEL")
    os.environ["DECISION_MODEL"] = str(path)
    yield path
    if old is None:
        os.environ.pop("DECISION_MODEL", None)
    else:
        os.environ["DECISION_MODEL"] = old
