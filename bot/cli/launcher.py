"""`python -m bot run`: the action server, Rasa and the gateway as child processes.

Rasa and the action server listen on 127.0.0.1 only. Each child is started only when what it
needs exists, is waited for until healthy, logs to LOG_DIR, and is stopped on Ctrl-C/SIGTERM.
The children only ever see masked text: the gateway masks before it calls Rasa, and uvicorn's
access log (URLs with console search words) is off.

Over 400 lines: the `Launcher` class is one supervisor (about 370 lines): starting each child,
waiting for it, warming Rasa up, restarting what dies with a growing pause, and stopping all in
order share the list of children and their state. Which process talks to which is apart, in
bot/cli/topology.py.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx

from bot.cli.topology import (
    TopologyError,
    action_server_urls,
    check_topology,
    rasa_env,
    write_endpoints,
)
from bot.console.passwords import PasswordStore, has_password
from bot.settings import REPO_ROOT, Settings
from knowledge.wording import HOTLINE

MODEL = REPO_ROOT / "models" / "assistant.tar.gz"
ACTIONS_PACKAGE = REPO_ROOT / "actions" / "__init__.py"
LOOPBACK = "127.0.0.1"
STOP_GRACE_SECONDS = 10
WARM_UP_SENDER = "launcher-warm-up"
WARM_UP_SECONDS = 120
# Supervision: answering must resume within 30 s of a crash, and Rasa takes about 20 s to
# load, so the first restart comes at once; a part that keeps failing is retried less often.
SUPERVISE_SECONDS = 0.5
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
STABLE_SECONDS = 60.0


class StartupFailed(Exception):
    pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path
    log_file: IO[bytes]
    args: list[str]
    env: dict[str, str] | None
    started: float  # time.monotonic() of the last start
    restarts: int = 0  # in a row, without a stable run in between
    restart_at: float | None = None  # when a child that died is started again
    warm_up_port: int | None = None  # Rasa: warmed up again after a restart


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
        # The gateway deletes old turns from the tracker files this launcher gives Rasa.
        "RASA_TRACKER_DB": str(settings.rasa_tracker_db),
        "RETENTION_DAYS": str(settings.retention_days),
        # The gateway's client address must agree with what uvicorn was told (below).
        "TRUSTED_PROXIES": settings.trusted_proxies,
        "RATE_LIMIT_PER_MINUTE": str(settings.rate_limit_per_minute),
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": str(settings.rate_limit_per_address_per_minute),
    }


def proxy_header_args(settings: Settings) -> list[str]:
    """uvicorn reads X-Forwarded-For/-Proto only from TRUSTED_PROXIES. Its own default trusts
    127.0.0.1 (or FORWARDED_ALLOW_IPS), which would let anyone on this machine, or behind an
    unlisted local proxy, choose their address; with nobody trusted it reads no header at all."""
    if not settings.trusted_proxies:
        return ["--no-proxy-headers"]
    return ["--proxy-headers", "--forwarded-allow-ips", settings.trusted_proxies]


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


class Launcher:
    def __init__(self, settings: Settings, gateway_only: bool = False) -> None:
        self.settings = settings
        self.gateway_only = gateway_only
        self.children: list[Child] = []
        self.gateway_url: str | None = None
        # A new token for Rasa's HTTP API at every start, unless one is set; only Rasa and the
        # gateway get it (through their environment).
        self.rasa_token = settings.rasa_token or secrets.token_urlsafe(32)
        self.local_tool_token = settings.local_tool_token or secrets.token_urlsafe(32)
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
        child = Child(name, process, log_path, log_file, args, env, time.monotonic())
        self.children.append(child)
        self.say(f"· 启动 {name}（pid {process.pid}，日志 {log_path}）")
        return child

    # -- supervision -------------------------------------------------------------------
    def supervise(self) -> None:
        """One look at every child: a child that died is started again after a pause that
        doubles with each failure in a row (RESTART_FIRST_SECONDS up to RESTART_MAX_SECONDS);
        a child that has run for STABLE_SECONDS is forgiven its earlier failures. Meanwhile
        the gateway answers with the hotline fallback (or, if the gateway itself is down, the
        page cannot load) until the part is back."""
        now = time.monotonic()
        for child in self.children:
            code = child.process.poll()
            if code is None:
                if child.restarts and now - child.started >= STABLE_SECONDS:
                    child.restarts = 0
                continue
            if child.restart_at is None:
                pause = min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2**child.restarts)
                child.restart_at = now + pause
                self.say(
                    f"! {child.name} 意外退出（退出码 {code}），{pause:.0f} 秒后重启"
                    f"（连续第 {child.restarts + 1} 次）；请看日志 {child.log_path}"
                )
            elif now >= child.restart_at:
                self.restart(child)

    def restart(self, child: Child) -> None:
        child.log_file.close()
        child.log_file = open(child.log_path, "ab")  # noqa: SIM115 - lives as long as the child
        child.process = subprocess.Popen(
            child.args,
            cwd=REPO_ROOT,
            env=child_env(child.env, self.settings),
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        child.restarts += 1
        child.started = time.monotonic()
        child.restart_at = None
        self.say(f"· 重启 {child.name}（pid {child.process.pid}）")
        if child.warm_up_port is not None:
            # Not in this loop: the other children are watched meanwhile.
            threading.Thread(
                target=self._warm_up_when_ready, args=(child.warm_up_port,), daemon=True
            ).start()
        if self.gateway_url:
            self.write_stack_file(self.gateway_url)

    def _warm_up_when_ready(self, port: int) -> None:
        with httpx.Client(timeout=2, trust_env=False) as http:
            deadline = time.monotonic() + WARM_UP_SECONDS * 2
            while time.monotonic() < deadline:
                try:
                    if http.get(self._status_url(port)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
        self.warm_up(port)

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
        """Start ACTION_SERVERS action servers, each on its own port; what to call to wait
        until they are ready."""
        if not ACTIONS_PACKAGE.is_file():
            self.say("! 没有 actions/ 包，不启动动作服务器。")
            return []
        waits = []
        for index, url in enumerate(action_server_urls(self.settings)):
            port = port_of(url, 5055)
            child = self.start(
                "action_server" if index == 0 else f"action_server-{index + 1}",
                [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
                # rasa_sdk 3.6 has no host flag; its Sanic app reads the host from SANIC_HOST.
                env={"SANIC_HOST": LOOPBACK, "ACTION_SERVER_SANIC_WORKERS": "1"},
            )
            waits.append(
                lambda child=child, port=port: self.wait_until(
                    child, lambda: self._ok(f"http://{LOOPBACK}:{port}/health"), 120
                )
            )
        return waits

    def start_rasa(self) -> None:
        for wait in self.spawn_rasa():
            wait()

    def spawn_rasa(self) -> list[Callable[[], None]]:
        """RASA_PROCESSES Rasa servers, each on its own port and tracker file, loading their
        model at the same time (one core each); what to call to wait for them and warm them
        up (the action server must be ready by then)."""
        model = self.settings.rasa_model
        if not model.is_file():
            self.say(
                f"! 还没有训练好的模型（{model}），不启动 Rasa；"
                f"网关会请用户拨打 {HOTLINE}。先运行 make setup。"
            )
            return []
        started = []
        for index, url in enumerate(self.settings.rasa_urls):
            port = port_of(url, 5005)
            endpoints = write_endpoints(self.settings, self.log_dir.parent / "run", index)
            name = "rasa" if index == 0 else f"rasa-{index + 1}"
            # Rasa's HTTP API (parse, status, trackers) needs the token (rasa_plugins/serve.py).
            args = [sys.executable, "-m", "rasa_plugins.serve", "--enable-api", "-i", LOOPBACK]
            args += ["-p", str(port), "-m", str(model), "--endpoints", str(endpoints)]
            child = self.start(
                name, args, env={"RASA_TOKEN": self.rasa_token, **rasa_env(self.settings)}
            )
            child.warm_up_port = port
            started.append((child, port))
        self.say("  Rasa 加载模型通常需要 20–60 秒……")

        def ready() -> None:
            for child, port in started:
                self.wait_until(child, lambda port=port: self._ok(self._status_url(port)), 300)
            for _, port in started:
                self.warm_up(port)

        return [ready]

    def _status_url(self, port: int) -> str:
        return f"http://{LOOPBACK}:{port}/status?token={self.rasa_token}"

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
                *proxy_header_args(self.settings),
                "--no-access-log",
                "--timeout-keep-alive",
                str(self.settings.gateway_keep_alive_seconds),
                # Several workers share the WeChat and limit state in Redis (check_topology).
                "--workers",
                str(self.settings.gateway_workers),
                # Rasa pins an old `websockets` that uvicorn's auto-detection trips over;
                # the gateway serves no websockets.
                "--ws",
                "none",
            ],
            env={"RASA_TOKEN": self.rasa_token, "LOCAL_TOOL_TOKEN": self.local_tool_token},
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
            # Every action server, the first one included (ACTION_SERVERS).
            "action_servers": [
                {"pid": by_name[name], "url": url}
                for name, url in zip(
                    ["action_server"]
                    + [f"action_server-{i + 1}" for i in range(1, self.settings.action_servers)],
                    action_server_urls(self.settings),
                )
                if name in by_name
            ],
            "rasa": rasa,
        }
        # For `make bench`; the file is the owner's only.
        stack["rasa_token"] = self.rasa_token
        stack["local_tool_token"] = self.local_tool_token
        self.stack_file.parent.mkdir(parents=True, exist_ok=True)
        self.stack_file.touch(mode=0o600)
        self.stack_file.chmod(0o600)
        self.stack_file.write_text(json.dumps(stack, indent=2), encoding="utf-8")

    def topology(self) -> str:
        """One line for the operator: what runs where."""
        settings = self.settings
        stores = (
            "对话状态在 PostgreSQL（Rasa 的 SQL tracker store）"
            if settings.database_url
            else f"对话状态在 {settings.rasa_tracker_db}"
        )
        locks = "，会话锁在 Redis" if settings.redis_url else ""
        return (
            f"· {settings.rasa_processes} 个 Rasa、{settings.action_servers} 个动作服务器、"
            f"网关 {settings.gateway_workers} 个进程；{stores}{locks}。"
        )

    def check_knowledge_base(self) -> None:
        if not self.settings.knowledge_db.is_file():
            self.say(f"! 知识库不存在（{self.settings.knowledge_db}）；先运行 make setup。")

    def check_console_password(self) -> None:
        log = PasswordStore.from_settings(self.settings)
        try:
            if not has_password(log):
                self.say("! 热线工作台还没有密码：运行 `python -m bot set-password` 设置。")
        finally:
            log.close()

    def run(self) -> int:
        try:
            check_topology(self.settings)
        except TopologyError as exc:
            self.say(f"错误：{exc}")
            self.http.close()
            return 2
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self.say(self.topology())
            self.check_knowledge_base()
            self.check_console_password()
            # Everything starts at once (loading Rasa's model takes both cores' time; the rest
            # need not wait for it), then each part is waited for in the order they need
            # each other: the action server, Rasa (warmed up through it), the gateway.
            waits = [] if self.gateway_only else self.spawn_action_server() + self.spawn_rasa()
            base, gateway_ready = self.spawn_gateway()
            for wait in [*waits, gateway_ready]:
                wait()
            self.gateway_url = base
            self.write_stack_file(base)
            self.say(f"\n助手已启动：打开 {base}/ \n热线工作台：{base}/console\n按 Ctrl-C 停止。")
            # Only Ctrl-C or SIGTERM stops everything; a part that dies is started again.
            while True:
                self.supervise()
                time.sleep(SUPERVISE_SECONDS)
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
