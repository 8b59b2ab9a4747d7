"""The stack under measurement: which processes it has, and starting and stopping one.

The launcher (`python -m bot run`) writes `<run dir>/stack.json` naming its processes; a stack
started by an older launcher has no such file, and its processes are found by the ports they
listen on instead.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx

from bot.settings import REPO_ROOT, Settings
from tests.bench import procfs, replies

DEFAULT_STACK_FILE = REPO_ROOT / "var" / "run" / "stack.json"
LOOPBACK = "127.0.0.1"
# SIGINT lets the launcher stop its children in order (each gets its own grace period).
STOP_AFTER_SIGINT_SECONDS = 30
STOP_AFTER_SIGTERM_SECONDS = 10


class StackError(Exception):
    """The stack could not be found, started or reached."""


@dataclass(frozen=True)
class Proc:
    role: str  # launcher, gateway, action_server, rasa
    pid: int
    url: str | None = None
    name: str = ""  # rasa, rasa-2 …; the role for the others

    @property
    def label(self) -> str:
        return self.name or self.role


@dataclass
class Stack:
    gateway_url: str
    processes: list[Proc]
    found_by: str  # "stack.json" or "listening ports"
    rasa_token: str = ""  # Rasa's API token (stack.json has it; /model/parse needs it)
    # Exempts the bench's requests from the gateway's rate limits (stack.json has it).
    local_tool_token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Local-Tool-Token": self.local_tool_token} if self.local_tool_token else {}

    def of(self, role: str) -> list[Proc]:
        return [p for p in self.processes if p.role == role]

    @property
    def rasa_urls(self) -> list[str]:
        return [p.url for p in self.of("rasa") if p.url]


@dataclass
class Started:
    """A stack this bench started: the launcher process and where its output goes."""

    process: subprocess.Popen
    log_path: Path
    log_file: IO[bytes]


def port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def rasa_urls_of(settings: Settings) -> list[str]:
    """Every Rasa URL the settings name (a launcher of one Rasa process has no `rasa_urls`:
    then RASA_URL and the port after it, where a second process would be)."""
    urls = getattr(settings, "rasa_urls", None)
    if urls:
        return list(urls)
    first = port_of(settings.rasa_url)
    return [settings.rasa_url, f"http://{LOOPBACK}:{first + 1}"]


# --- finding the processes ------------------------------------------------------------------


def parse_stack_file(data: dict) -> list[Proc]:
    """The processes named in stack.json ("rasa" a list, or a single entry)."""
    procs: list[Proc] = []
    for role in ("launcher", "gateway", "action_server"):
        entry = data.get(role)
        if isinstance(entry, dict) and isinstance(entry.get("pid"), int):
            procs.append(Proc(role, entry["pid"], entry.get("url"), role))
    rasa = data.get("rasa")
    entries = rasa if isinstance(rasa, list) else [rasa]
    for index, entry in enumerate(e for e in entries if isinstance(e, dict)):
        if isinstance(entry.get("pid"), int):
            name = "rasa" if index == 0 else f"rasa-{index + 1}"
            procs.append(Proc("rasa", entry["pid"], entry.get("url"), name))
    return procs


def from_stack_file(path: Path, gateway_url: str) -> Stack | None:
    """The stack in `path`, if it is there, names a gateway at `gateway_url`'s port and every
    process it names is running (otherwise it is left over from a stack that has stopped)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    procs = parse_stack_file(data)
    gateways = [p for p in procs if p.role == "gateway"]
    if not gateways or not any(p.role == "rasa" for p in procs):
        return None
    if gateways[0].url and port_of(gateways[0].url) != port_of(gateway_url):
        return None
    if not all(procfs.alive(p.pid) for p in procs):
        return None
    return Stack(
        gateway_url,
        procs,
        "stack.json",
        str(data.get("rasa_token") or ""),
        str(data.get("local_tool_token") or ""),
    )


def from_ports(gateway_url: str, settings: Settings) -> Stack | None:
    """The gateway at `gateway_url`'s port, Rasa and the action server at the ports the
    settings name, and the launcher as the gateway's parent (when it is `bot run`)."""
    rasa_urls = rasa_urls_of(settings)
    gateway_port = port_of(gateway_url)
    action_port = port_of(settings.action_server_url)
    ports = [gateway_port, action_port, *[port_of(u) for u in rasa_urls]]
    pids = procfs.pids_listening(ports)
    if gateway_port not in pids:
        return None
    procs = []
    stat = procfs.read_stat(pids[gateway_port])
    if stat and {"bot", "run"} <= set(procfs.cmdline(stat.ppid)):
        procs.append(Proc("launcher", stat.ppid, None, "launcher"))
    procs.append(Proc("gateway", pids[gateway_port], gateway_url, "gateway"))
    if action_port in pids:
        procs.append(
            Proc("action_server", pids[action_port], settings.action_server_url, "action_server")
        )
    rasa_pids = [(url, pids[port_of(url)]) for url in rasa_urls if port_of(url) in pids]
    for index, (url, pid) in enumerate(rasa_pids):
        procs.append(Proc("rasa", pid, url, "rasa" if index == 0 else f"rasa-{index + 1}"))
    return Stack(gateway_url, procs, "listening ports")


def discover(gateway_url: str, stack_file: Path, settings: Settings) -> Stack:
    stack = from_stack_file(stack_file, gateway_url) or from_ports(gateway_url, settings)
    if stack is None or not stack.rasa_urls:
        raise StackError(
            f"no Rasa process found for the gateway at {gateway_url} "
            f"(neither {stack_file} nor the listening ports name one)"
        )
    return stack


# --- health ---------------------------------------------------------------------------------


def health(gateway_url: str, timeout: float = 5.0) -> dict | None:
    """The gateway's /healthz body (200 or 503), or None when nothing answers there."""
    try:
        response = httpx.get(gateway_url + "/healthz", timeout=timeout, trust_env=False)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def gateway_ok(body: dict | None) -> bool:
    return bool(body and isinstance(body.get("gateway"), dict) and body["gateway"].get("ok"))


def wait_for_gateway(gateway_url: str, started: Started | None, timeout: float) -> None:
    """Until /healthz says {"gateway": {"ok": true}}; StackError when the launcher exits or
    time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if started is not None and started.process.poll() is not None:
            raise StackError(
                f"`python -m bot run` exited ({started.process.returncode}):\n{tail(started)}"
            )
        if gateway_ok(health(gateway_url)):
            return
        time.sleep(1)
    raise StackError(f"the gateway at {gateway_url} was not up after {timeout:.0f} s")


def wait_for_file(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if time.monotonic() > deadline:
            raise StackError(f"{path} did not appear within {timeout:.0f} s")
        time.sleep(0.5)


def answers(
    client: httpx.Client, gateway_url: str, sender: str, text: str = "养猪有补贴吗"
) -> bool:
    """Whether /api/chat gives a real answer (not busy, not unavailable, not an error)."""
    try:
        response = client.post(gateway_url + "/api/chat", json={"sender": sender, "message": text})
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    return replies.classify(response.status_code, body) == replies.ANSWER


def wait_for_answer(gateway_url: str, sender: str, timeout: float) -> None:
    """Until a question gets a real answer: a gateway may be up before Rasa is."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5, trust_env=False) as client:
        while time.monotonic() < deadline:
            if answers(client, gateway_url, sender):
                return
            time.sleep(1)
    raise StackError(f"the gateway at {gateway_url} gave no real answer within {timeout:.0f} s")


# --- starting and stopping ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_ports_in_a_row(count: int, tries: int = 50) -> int:
    """The first of `count` consecutive free loopback ports (Rasa processes take RASA_URL's port
    and the ones after it)."""
    for _ in range(tries):
        first = free_port()
        if first + count <= 65535 and all(port_free(first + i) for i in range(1, count)):
            return first
    raise StackError(f"no {count} free loopback ports in a row")


# The bench is one client sending as fast as the stack answers: the gateway's rate limits
# (bot/api/rate_limit.py) would measure themselves. A stack already running keeps its own.
NO_RATE_LIMITS = {"RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0"}


def start(env: dict[str, str], log_path: Path) -> Started:
    """`python -m bot run` in development mode, its output to `log_path`. A session of its
    own: a Ctrl-C on the bench reaches the launcher only through `stop`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            **NO_RATE_LIMITS,
            "APP_ENV": "development",
            "PYTHONUNBUFFERED": "1",
            **env,
        },
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Started(process, log_path, log_file)


def stop(started: Started) -> None:
    """SIGINT (the launcher stops its children), then SIGTERM, then SIGKILL; bounded in time.
    Children that outlive the launcher are then killed by their pid (and start time)."""
    process = started.process
    children = procfs.children(process.pid)
    for sig, wait in (
        (signal.SIGINT, STOP_AFTER_SIGINT_SECONDS),
        (signal.SIGTERM, STOP_AFTER_SIGTERM_SECONDS),
        (signal.SIGKILL, 5),
    ):
        if process.poll() is not None:
            break
        process.send_signal(sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    for pid, starttime in children:
        stat = procfs.read_stat(pid)
        if stat is not None and stat.starttime == starttime and procfs.alive(pid):
            os.kill(pid, signal.SIGKILL)
    started.log_file.close()


def tail(started: Started, lines: int = 20) -> str:
    try:
        text = started.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:])
