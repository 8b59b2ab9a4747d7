"""`python -m bot run`: the action server, Rasa and the gateway as child processes.

Rasa and the action server listen on 127.0.0.1 only. Each child is started only when what it
needs exists, is waited for until healthy, logs to LOG_DIR, and is stopped on Ctrl-C/SIGTERM.
The children only ever see masked text: the gateway masks before it calls Rasa, and uvicorn's
access log (URLs with console search words) is off.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx
import yaml

from bot.settings import REPO_ROOT, Settings
from knowledge.wording import HOTLINE

MODEL = REPO_ROOT / "models" / "assistant.tar.gz"
ENDPOINTS = REPO_ROOT / "endpoints.yml"
ACTIONS_PACKAGE = REPO_ROOT / "actions" / "__init__.py"
LOOPBACK = "127.0.0.1"
STOP_GRACE_SECONDS = 10
WARM_UP_SENDER = "launcher-warm-up"
WARM_UP_SECONDS = 120


class StartupFailed(Exception):
    pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path
    log_file: IO[bytes]


def port_of(url: str, default: int) -> int:
    return urlsplit(url).port or default


def settings_env(settings: Settings) -> dict[str, str]:
    """The resolved settings the children need, whether they came from .env or the environment.

    Only the gateway reads .env; the action server finds the knowledge base through
    KNOWLEDGE_DB (knowledge.store), so it must get the path the launcher resolved. Paths are
    absolute, so no child depends on its working directory. Secrets are not passed on: the
    gateway reads them itself, and Rasa and the action server have no use for them.
    """
    return {
        "KNOWLEDGE_DB": str(settings.knowledge_db),
        "DECISION_MODEL": str(settings.decision_model),
        "CONVERSATION_DB": str(settings.conversation_db),
        "LOG_DIR": str(settings.log_dir),
        "RASA_URL": settings.rasa_url,
        "ACTION_SERVER_URL": settings.action_server_url,
        "RASA_TIMEOUT": str(settings.rasa_timeout),
        "RASA_PROCESSES": str(settings.rasa_processes),
        "RASA_CONCURRENCY": str(settings.rasa_concurrency),
        "RASA_SESSION_TURNS": str(settings.rasa_session_turns),
    }


def child_env(
    extra: dict[str, str] | None = None, settings: Settings | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    if settings is not None:
        env.update(settings_env(settings))
    env.update(extra or {})
    return env


def tracker_db(settings: Settings, index: int) -> Path:
    """Rasa process `index`'s tracker file: RASA_TRACKER_DB for the first, then -2, -3 …
    A conversation always goes to the same process, so no two processes share a file (and
    SQLite's one writer at a time never makes one process wait for the other)."""
    path = settings.rasa_tracker_db
    return path if index == 0 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")


def write_endpoints(settings: Settings, run_dir: Path, index: int = 0) -> Path:
    """endpoints.yml for Rasa process `index`: the action endpoint at ACTION_SERVER_URL (tests
    use other ports) and its own SQLite tracker store."""
    config = {}
    if ENDPOINTS.is_file():
        config = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8")) or {}
    config["action_endpoint"] = {"url": settings.action_server_url + "/webhook"}
    # An absolute path: Rasa resolves a relative one against its working directory, and waits
    # forever for a database whose folder does not exist.
    db = tracker_db(settings, index)
    db.parent.mkdir(parents=True, exist_ok=True)
    config["tracker_store"] = {
        # Rasa's SQL store with SQLite in write-ahead mode (rasa_plugins/tracker_store.py).
        "type": "rasa_plugins.tracker_store.LocalSQLTrackerStore",
        "dialect": "sqlite",
        "db": str(db),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / ("endpoints.yml" if index == 0 else f"endpoints-{index + 1}.yml")
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


class Launcher:
    def __init__(self, settings: Settings, gateway_only: bool = False) -> None:
        self.settings = settings
        self.gateway_only = gateway_only
        self.children: list[Child] = []
        self.log_dir = settings.log_dir
        self.http = httpx.Client(timeout=2, trust_env=False)

    def say(self, text: str) -> None:
        print(text, flush=True)

    # -- children ----------------------------------------------------------------------
    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        log_file = open(log_path, "ab")  # noqa: SIM115 - lives as long as the child
        # A new session: Ctrl-C reaches only the launcher, which stops children in order.
        process = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=child_env(env, self.settings),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        child = Child(name, process, log_path, log_file)
        self.children.append(child)
        self.say(f"· 启动 {name}（pid {process.pid}，日志 {log_path}）")
        return child

    def wait_until(self, child: Child, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise StartupFailed(
                    f"{child.name} 启动失败，退出码 {child.process.returncode}；"
                    f"请看日志 {child.log_path}"
                )
            if ready():
                self.say(f"  {child.name} 已就绪")
                return
            time.sleep(0.5)
        raise StartupFailed(
            f"{child.name} 在 {timeout:.0f} 秒内没有就绪；请看日志 {child.log_path}"
        )

    def _ok(self, url: str) -> bool:
        try:
            return self.http.get(url).status_code == 200
        except httpx.HTTPError:
            return False

    def _gateway_up(self, url: str) -> bool:
        try:
            body = self.http.get(url, timeout=5).json()
            return bool(body.get("gateway", {}).get("ok"))
        except (httpx.HTTPError, ValueError):
            return False

    def stop_all(self) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            child.log_file.close()
        if self.children:
            self.stack_file.unlink(missing_ok=True)
            self.say("已停止所有进程。")
        self.children = []
        self.http.close()

    # -- the sequence ------------------------------------------------------------------
    def start_action_server(self) -> None:
        for wait in self.spawn_action_server():
            wait()

    def spawn_action_server(self) -> list[Callable[[], None]]:
        """Start the action server; what to call to wait until it is ready."""
        if not ACTIONS_PACKAGE.is_file():
            self.say("! 没有 actions/ 包，不启动动作服务器。")
            return []
        port = port_of(self.settings.action_server_url, 5055)
        child = self.start(
            "action_server",
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
            # rasa_sdk 3.6 has no host flag; its Sanic app reads the host from SANIC_HOST.
            env={"SANIC_HOST": LOOPBACK, "ACTION_SERVER_SANIC_WORKERS": "1"},
        )
        return [
            lambda: self.wait_until(
                child, lambda: self._ok(f"http://{LOOPBACK}:{port}/health"), 120
            )
        ]

    def start_rasa(self) -> None:
        for wait in self.spawn_rasa():
            wait()

    def spawn_rasa(self) -> list[Callable[[], None]]:
        """RASA_PROCESSES Rasa servers, each on its own port and tracker file, loading their
        model at the same time (one core each); what to call to wait for them and warm them
        up (the action server must be ready by then)."""
        if not MODEL.is_file():
            self.say(
                f"! 还没有训练好的模型（{MODEL}），不启动 Rasa；"
                f"网关会请用户拨打 {HOTLINE}。先运行 make setup。"
            )
            return []
        started = []
        for index, url in enumerate(self.settings.rasa_urls):
            port = port_of(url, 5005)
            endpoints = write_endpoints(self.settings, self.log_dir.parent / "run", index)
            name = "rasa" if index == 0 else f"rasa-{index + 1}"
            args = [sys.executable, "-m", "rasa", "run", "--enable-api", "-i", LOOPBACK]
            args += ["-p", str(port), "-m", str(MODEL), "--endpoints", str(endpoints)]
            started.append((self.start(name, args), port))
        self.say("  Rasa 加载模型通常需要 20–60 秒……")

        def ready() -> None:
            for child, port in started:
                self.wait_until(
                    child, lambda port=port: self._ok(f"http://{LOOPBACK}:{port}/status"), 300
                )
            for _, port in started:
                self.warm_up(port)

        return [ready]

    def warm_up(self, port: int) -> None:
        """One message through Rasa and the action server before users come.

        The first message after a start loads the tokenizer, the classifiers and the knowledge
        base and takes longer than RASA_TIMEOUT: without this, the first user would get the
        "call the hotline" fallback.
        """
        try:
            self.http.post(
                f"http://{LOOPBACK}:{port}/webhooks/rest/webhook",
                json={"sender": WARM_UP_SENDER, "message": "你好"},
                timeout=WARM_UP_SECONDS,
            ).raise_for_status()
            self.say("  已预热")
        except httpx.HTTPError as exc:
            self.say(f"  预热没有成功（{type(exc).__name__}），第一个问题可能答得慢。")

    def start_gateway(self) -> str:
        base, wait = self.spawn_gateway()
        wait()
        return base

    def spawn_gateway(self) -> tuple[str, Callable[[], None]]:
        """Start the gateway; its address and what to call to wait until it is ready."""
        host, port = self.settings.gateway_host, self.settings.gateway_port
        child = self.start(
            "gateway",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bot.app:create_app",
                "--factory",
                "--host",
                host,
                "--port",
                str(port),
                "--proxy-headers",
                "--no-access-log",
                # Rasa pins an old `websockets` that uvicorn's auto-detection trips over;
                # the gateway serves no websockets.
                "--ws",
                "none",
            ],
        )
        shown_host = LOOPBACK if host in ("0.0.0.0", "::") else host
        base = f"http://{shown_host}:{port}"
        return base, lambda: self.wait_until(child, lambda: self._gateway_up(base + "/healthz"), 60)

    @property
    def stack_file(self) -> Path:
        return self.log_dir.parent / "run" / "stack.json"

    def write_stack_file(self, gateway_url: str) -> None:
        """Which process is which, for `make bench` (CPU and memory per process)."""
        by_name = {child.name: child.process.pid for child in self.children}
        rasa = [
            {"pid": by_name[name], "url": url}
            for name, url in zip(
                ["rasa"] + [f"rasa-{i + 1}" for i in range(1, len(self.settings.rasa_urls))],
                self.settings.rasa_urls,
            )
            if name in by_name
        ]
        stack = {
            "launcher": {"pid": os.getpid()},
            "gateway": {"pid": by_name.get("gateway"), "url": gateway_url},
            "action_server": {
                "pid": by_name.get("action_server"),
                "url": self.settings.action_server_url,
            },
            "rasa": rasa,
        }
        self.stack_file.parent.mkdir(parents=True, exist_ok=True)
        self.stack_file.write_text(json.dumps(stack, indent=2), encoding="utf-8")

    def check_knowledge_base(self) -> None:
        if not self.settings.knowledge_db.is_file():
            self.say(f"! 知识库不存在（{self.settings.knowledge_db}）；先运行 make setup。")

    def check_console_password(self) -> None:
        from bot.console.passwords import has_password
        from bot.conversation_log import ConversationLog

        log = ConversationLog(self.settings.conversation_db, self.settings.secret_key)
        try:
            if not has_password(log):
                self.say("! 热线工作台还没有密码：运行 `python -m bot set-password` 设置。")
        finally:
            log.close()

    def run(self) -> int:
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self.check_knowledge_base()
            self.check_console_password()
            # Everything starts at once (loading Rasa's model takes both cores' time; the rest
            # need not wait for it), then each part is waited for in the order they need
            # each other: the action server, Rasa (warmed up through it), the gateway.
            waits = [] if self.gateway_only else self.spawn_action_server() + self.spawn_rasa()
            base, gateway_ready = self.spawn_gateway()
            for wait in [*waits, gateway_ready]:
                wait()
            self.write_stack_file(base)
            self.say(f"\n助手已启动：打开 {base}/ \n热线工作台：{base}/console\n按 Ctrl-C 停止。")
            while True:
                for child in self.children:
                    if child.process.poll() is not None:
                        raise StartupFailed(
                            f"{child.name} 意外退出（退出码 "
                            f"{child.process.returncode}）；请看日志 {child.log_path}"
                        )
                time.sleep(1)
        except StartupFailed as exc:
            self.say(f"错误：{exc}")
            return 1
        except KeyboardInterrupt:
            self.say("\n正在停止……")
            return 0
        finally:
            self.stop_all()
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
