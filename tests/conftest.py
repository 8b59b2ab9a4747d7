"""Fixtures shared by every test folder: the plan's knowledge base and a fitted answer decision,
both built once per session into tmp, and the live stack (action server + Rasa + gateway)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from knowledge.answering import topics
from knowledge.answering.decision import Decision
from knowledge.answering.fitting import Example, fit
from knowledge.build import build
from knowledge.store import KnowledgeBase, open_kb

REPO_ROOT = Path(__file__).resolve().parent.parent
# `tests.fakes` and friends are imported as modules of the `tests` namespace package, which
# needs the repository root on sys.path (pytest only adds the conftest folders themselves).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.eval import sets
from tests.session_cache import cached_once, inputs_digest, knowledge_files

# Overridable, so two people can run the end-to-end tests on one machine at once.
LIVE_GATEWAY_PORT = int(os.environ.get("LIVE_GATEWAY_PORT", "18090"))
LIVE_RASA_PORT = int(os.environ.get("LIVE_RASA_PORT", "15005"))
LIVE_ACTION_PORT = int(os.environ.get("LIVE_ACTION_PORT", "15055"))
LIVE_STARTUP_SECONDS = 420  # Rasa alone needs 30-60 s to load on two cores; more when busy
PLAN = REPO_ROOT / "knowledge" / "sources" / "hs-2022-60.md"


def pytest_collection_finish(session):
    """The imported modules and the collected tests live as long as the session: move them out
    of the garbage collector's sight, so its full passes (and pytest's five at the end) scan
    only what the tests make. About a second of each worker's time in `make check`."""
    gc.freeze()


def pytest_collection_modifyitems(items):
    """A test on the live stack needs the working tree's trained model, fitted decision and
    knowledge base (`make setup`): marked e2e and model, so `make check` deselects it."""
    for item in items:
        if "live_stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.model)


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
    if expect in _ROUTE_INTENTS:
        return _ROUTE_INTENTS[expect]
    if expect.startswith("department:"):
        return "ask_department"
    if expect.startswith("target-"):
        return "ask_targets"
    return next(name for name, keys in topics().candidates.items() if expect in keys)


@pytest.fixture(scope="session")
def plan_source() -> Path:
    return PLAN


@pytest.fixture(scope="session")
def kb_path(request, tmp_path_factory) -> Path:
    """The real plan built once per session into tmp, never the working tree's build/ (real
    lexicon, segmenter and spaCy tagger). Shared read-only: a test that changes a knowledge
    base copies it or builds its own. Building takes about 8 s, so it is kept (cached_once)."""
    return cached_once(
        request,
        tmp_path_factory,
        "knowledge.db",
        inputs_digest(knowledge_files()),
        lambda target: build(sources=[PLAN], db_path=target),
    )


@pytest.fixture(scope="session")
def kb(kb_path) -> KnowledgeBase:
    return open_kb(kb_path)


def decision_inputs() -> str:
    """A digest of everything the test decision is made of: the knowledge package and the plan
    (the knowledge base it is fitted on), the development questions, this file and the pinned
    packages."""
    files = knowledge_files() + sorted((REPO_ROOT / "tests" / "eval").glob("dev*.yml"))
    return inputs_digest(files + [REPO_ROOT / "tests" / "eval" / "sets.py", Path(__file__)])


def fit_test_decision(kb: KnowledgeBase) -> Decision:
    """The decision fitted on the development questions as a perfect NLU would parse them (the
    top intent at 0.9)."""
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
    # Fixed strengths: choosing them by cross-validation would take the fit from 10 s to 17 s,
    # and the tests check what the decision does, not how its strengths were chosen.
    return fit(kb, examples, strengths=(1.0, 1.0))


@pytest.fixture(scope="session", autouse=True)
def test_decision(request, tmp_path_factory):
    """The test decision (`fit_test_decision`, on the session's knowledge base), in tmp;
    DECISION_MODEL points at it, so no test reads the working tree's models/decision.json.

    Fitting takes 10-25 s, so it is kept (cached_once)."""
    path = cached_once(
        request,
        tmp_path_factory,
        "decision.json",
        decision_inputs(),
        lambda target: target.write_text(
            fit_test_decision(request.getfixturevalue("kb")).to_json(), encoding="utf-8"
        ),
    )
    old = os.environ.get("DECISION_MODEL")
    os.environ["DECISION_MODEL"] = str(path)
    yield path
    if old is None:
        os.environ.pop("DECISION_MODEL", None)
    else:
        os.environ["DECISION_MODEL"] = old
