"""The scaled topology as `make run-scaled` starts it: `python -m bot run` with REDIS_URL and
DATABASE_URL from scripts/local-services.sh, two Rasa instances, two action servers and two
gateway workers, the real model (models/assistant.tar.gz) and knowledge base
(build/knowledge.db), everything else in a folder of the caller's.

    with running_services(folder, 6440, 5480) as urls, running_stack(work, *urls) as stack:
        httpx.post(stack.base + "/api/chat", json=..., headers=stack.headers)

Used by the scale tests (test_scaled_stack.py) and the throughput of one and two Rasa
instances (tests/bench/scaled.py), each on the topology helper's ports (gateway 8600-8699,
Rasa 5600-5619, action servers 5620-5639, Redis 6440-6459, PostgreSQL 5480-5499).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.settings import REPO_ROOT
from tests.bench import stack as bench_stack

STARTUP_SECONDS = 420  # two Rasa instances load at once on two cores: 60-120 s, more when busy
# The launcher's children and the tests share this key: a test finds the Rasa instance that
# keeps a conversation from it (bot/chat/service.py rasa_sender).
SECRET_KEY = "scaled-tests-secret-key-000000000000000000"
NEEDED = ("models/assistant.tar.gz", "models/decision.json", "build/knowledge.db")

__all__ = ["SECRET_KEY", "ScaledStack", "missing_inputs", "running_stack", "scaled_env"]


@dataclass
class ScaledStack:
    base: str  # the gateway
    work: Path  # logs, run/stack.json, the launcher's output
    rasa_url: str  # the first Rasa instance; the others at the ports after it
    database_url: str = ""
    services_dir: Path | None = None  # the folder of the caller's Redis and PostgreSQL

    @property
    def processes(self) -> dict:
        """The launcher's stack.json (pids, URLs, tokens), as it is now."""
        return json.loads((self.work / "run" / "stack.json").read_text(encoding="utf-8"))

    @property
    def headers(self) -> dict[str, str]:
        """Exempts a tool speaking for many people from the rate limits (like `make bench`)."""
        return {"X-Local-Tool-Token": self.processes["local_tool_token"]}

    def rasa_status_ok(self, url: str) -> bool:
        token = self.processes["rasa_token"]
        try:
            return httpx.get(f"{url}/status?token={token}", timeout=2, trust_env=False).is_success
        except httpx.HTTPError:
            return False


def missing_inputs() -> list[str]:
    return [p for p in NEEDED if not (REPO_ROOT / p).is_file()]


def scaled_env(
    work: Path,
    redis_url: str,
    database_url: str,
    gateway_port: int,
    rasa_port: int,
    action_port: int,
    rasa_processes: int = 2,
) -> dict[str, str]:
    """What `make run-scaled` sets, on these ports, with the working tree's model and
    knowledge base and everything written in `work`."""
    return {
        "APP_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "RASA_PROCESSES": str(rasa_processes),
        "ACTION_SERVERS": "2",
        "GATEWAY_WORKERS": "2",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(gateway_port),
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}",
        "RASA_MODEL": str(REPO_ROOT / "models" / "assistant.tar.gz"),
        "KNOWLEDGE_DB": str(REPO_ROOT / "build" / "knowledge.db"),
        "DECISION_MODEL": str(REPO_ROOT / "models" / "decision.json"),
        # Unused with DATABASE_URL, but never the working tree's var/ either way.
        "CONVERSATION_DB": str(work / "conversations.db"),
        "RASA_TRACKER_DB": str(work / "rasa_tracker.db"),
        "LOG_DIR": str(work / "logs"),
        # People's limits, as in production; tools send the local tool token.
        "RATE_LIMIT_PER_MINUTE": "20",
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "120",
    }


def wait_until_answering(stack: ScaledStack, started: bench_stack.Started, timeout: float):
    """Until the launcher has written stack.json (everything warmed up), /healthz is all ok
    and a question gets a real answer."""
    deadline = time.monotonic() + timeout
    while not (
        (stack.work / "run" / "stack.json").is_file()
        and (bench_stack.health(stack.base) or {}).get("status") == "ok"
    ):
        if started.process.poll() is not None:
            raise bench_stack.StackError(
                f"`python -m bot run` exited ({started.process.returncode})"
            )
        if time.monotonic() > deadline:
            raise bench_stack.StackError(f"not healthy after {timeout:.0f} s")
        time.sleep(1)
    bench_stack.wait_for_answer(stack.base, "scaled-ready", max(1.0, deadline - time.monotonic()))


@contextmanager
def running_stack(
    work: Path,
    redis_url: str,
    database_url: str,
    gateway_port: int = 8600,
    rasa_port: int = 5600,
    action_port: int = 5620,
    rasa_processes: int = 2,
    startup_seconds: float = STARTUP_SECONDS,
) -> Iterator[ScaledStack]:
    """Start the launcher, wait until it answers, yield the stack, stop it (its children
    too) whatever happened; StackError (with the launcher's last lines) if it never answers."""
    work.mkdir(parents=True, exist_ok=True)
    env = scaled_env(
        work, redis_url, database_url, gateway_port, rasa_port, action_port, rasa_processes
    )
    started = bench_stack.start(env, work / "launcher.log")
    stack = ScaledStack(
        f"http://127.0.0.1:{gateway_port}", work, env["RASA_URL"], database_url=database_url
    )
    try:
        try:
            wait_until_answering(stack, started, startup_seconds)
        except bench_stack.StackError as exc:
            raise bench_stack.StackError(f"{exc}\n{bench_stack.tail(started, 40)}") from exc
        yield stack
    finally:
        bench_stack.stop(started)
