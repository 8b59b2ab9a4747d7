"""Cold start: seconds from spawning `python -m bot run` to its first real answer.

A second stack on spare loopback ports with throwaway logs, conversation log and tracker files,
so it shares nothing writable with the stack under measurement; stopped right after.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.settings import Settings
from tests.bench import stack

POLL_SECONDS = 0.25
COLD_SENDER = "bench-cold-start"


@dataclass
class ColdStart:
    seconds: float | None
    error: str | None = None
    rasa_processes: int = 0


def cold_env(work: Path, rasa_processes: int) -> dict[str, str]:
    """The environment of a second stack: spare ports, files under `work`."""
    gateway = stack.free_port()
    action = stack.free_port()
    rasa = stack.free_ports_in_a_row(rasa_processes)
    return {
        "GATEWAY_HOST": stack.LOOPBACK,
        "GATEWAY_PORT": str(gateway),
        "RASA_URL": f"http://{stack.LOOPBACK}:{rasa}",
        "ACTION_SERVER_URL": f"http://{stack.LOOPBACK}:{action}",
        "LOG_DIR": str(work / "logs"),
        "CONVERSATION_DB": str(work / "conversations.db"),
        "RASA_TRACKER_DB": str(work / "rasa_tracker.db"),
    }


def measure(settings: Settings, timeout: float) -> ColdStart:
    rasa_processes = int(getattr(settings, "rasa_processes", 1))
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        work = Path(tmp)
        env = cold_env(work, max(2, rasa_processes))
        gateway_url = f"http://{stack.LOOPBACK}:{env['GATEWAY_PORT']}"
        began = time.monotonic()
        started = stack.start(env, work / "launcher.log")
        try:
            with httpx.Client(timeout=5, trust_env=False) as client:
                while time.monotonic() - began < timeout:
                    if started.process.poll() is not None:
                        return ColdStart(None, f"launcher exited:\n{stack.tail(started)}")
                    if stack.answers(client, gateway_url, COLD_SENDER):
                        return ColdStart(time.monotonic() - began, None, rasa_processes)
                    time.sleep(POLL_SECONDS)
            return ColdStart(None, f"no answer within {timeout:.0f} s:\n{stack.tail(started)}")
        finally:
            stack.stop(started)
