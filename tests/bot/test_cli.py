"""`python -m bot`: help for every command, set-password, and the launcher's decisions."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from bot.cli import commands as cli
from bot.cli import launcher, topology
from bot.console.password_store import PasswordStore
from bot.console.passwords import verify_password
from bot.settings import REPO_ROOT, Settings


def subcommands() -> list[str]:
    parser = cli.build_parser()
    [action] = [a for a in parser._actions if a.dest == "command"]
    return list(action.choices)


def test_commands_exist():
    assert {"run", "set-password", "purge", "forget", "backup"} <= set(subcommands())


@pytest.mark.parametrize("args", [[], *[[name] for name in subcommands()]])
def test_every_command_has_help(args, capsys):
    if not args:  # `python -m bot` itself, in a fresh process
        result = subprocess.run(
            [sys.executable, "-m", "bot", "--help"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        code, out, err = result.returncode, result.stdout, result.stderr
    else:  # its subcommands in process: a fresh process each costs half a second
        with pytest.raises(SystemExit) as exited:
            cli.main([*args, "--help"])
        code, (out, err) = exited.value.code, capsys.readouterr()
    assert code == 0, err
    assert "usage: python -m bot" in out and len(out) > 100


def test_set_password_from_stdin(tmp_path, monkeypatch, capsys):
    db = tmp_path / "c.db"
    monkeypatch.setenv("CONVERSATION_DB", str(db))
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-good-long-password\n"))
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        assert cli.main(["set-password", "--password-stdin"]) == 0
    finally:
        get_settings.cache_clear()
    assert "已设置" in capsys.readouterr().out
    store = PasswordStore(db)
    assert verify_password(store, "a-good-long-password")


def test_set_password_refuses_a_short_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONVERSATION_DB", str(tmp_path / "c.db"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        assert cli.main(["set-password", "--password-stdin"]) == 1
    finally:
        get_settings.cache_clear()
    assert "至少" in capsys.readouterr().err


def test_run_refuses_default_secret_outside_development(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "APP_ENV": "production",
        "SECRET_KEY": "",
        "CONVERSATION_DB": str(tmp_path / "c.db"),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "SECRET_KEY" in result.stderr


def test_endpoints_point_rasa_at_the_configured_action_server(make_settings, tmp_path):
    settings = make_settings(action_server_url="http://127.0.0.1:15055")
    path = topology.write_endpoints(settings, tmp_path / "run")
    assert (
        yaml.safe_load(path.read_text())["action_endpoint"]["url"]
        == "http://127.0.0.1:15055/webhook"
    )


def test_ports_come_from_the_urls():
    assert launcher.port_of("http://127.0.0.1:15005", 5005) == 15005
    assert launcher.port_of("http://127.0.0.1", 5005) == 5005


def test_no_model_means_no_rasa_and_says_so(make_settings, monkeypatch, capsys, tmp_path):
    run = launcher.Launcher(make_settings(rasa_model=tmp_path / "models" / "assistant.tar.gz"))
    run.start_rasa()
    assert run.children == []
    assert "没有训练好的模型" in capsys.readouterr().out
    run.stop_all()


def test_run_tells_how_to_set_the_console_password(make_settings, capsys):
    run = launcher.Launcher(make_settings())
    run.check_console_password()
    assert "python -m bot set-password" in capsys.readouterr().out
    run.stop_all()


def test_action_server_binds_to_loopback(make_settings, monkeypatch):
    started = {}

    def fake_start(name, args, env=None):
        started.update(name=name, args=args, env=env)
        raise launcher.StartupFailed("stop here")

    run = launcher.Launcher(make_settings(action_server_url="http://127.0.0.1:15055"))
    monkeypatch.setattr(run, "start", fake_start)
    with pytest.raises(launcher.StartupFailed):
        run.start_action_server()
    assert started["env"]["SANIC_HOST"] == "127.0.0.1"
    assert started["args"][-2:] == ["-p", "15055"]
    run.stop_all()


def test_children_get_the_resolved_settings_from_dotenv(tmp_path, monkeypatch):
    """KNOWLEDGE_DB set only in .env reaches a child (the action server reads it), absolute."""
    for name in ("KNOWLEDGE_DB", "CONVERSATION_DB", "LOG_DIR", "RASA_URL", "ACTION_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "KNOWLEDGE_DB=build/elsewhere.db\n"
        f"CONVERSATION_DB={tmp_path / 'c.db'}\n"
        f"LOG_DIR={tmp_path / 'logs'}\n"
        "ACTION_SERVER_URL=http://127.0.0.1:15066\n",
        encoding="utf-8",
    )
    settings = Settings(_env_file=dotenv)
    names = ["KNOWLEDGE_DB", "CONVERSATION_DB", "LOG_DIR", "ACTION_SERVER_URL", "SECRET_KEY"]
    run = launcher.Launcher(settings)
    try:
        child = run.start(
            "probe",
            [
                sys.executable,
                "-c",
                f"import json, os; print(json.dumps({{k: os.environ.get(k) for k in {names!r}}}))",
            ],
        )
        child.process.wait(timeout=60)
    finally:
        run.stop_all()
    seen = json.loads((tmp_path / "logs" / "probe.log").read_text().strip().splitlines()[-1])
    assert seen["KNOWLEDGE_DB"] == str(REPO_ROOT / "build" / "elsewhere.db")
    assert seen["CONVERSATION_DB"] == str(tmp_path / "c.db")
    assert seen["LOG_DIR"] == str(tmp_path / "logs")
    assert seen["ACTION_SERVER_URL"] == "http://127.0.0.1:15066"
    assert seen["SECRET_KEY"] is None or "SECRET_KEY" in os.environ  # not handed on by us


def test_rasa_is_warmed_up_before_users_come(make_settings, fake_rasa, capsys):
    """The first message after a start is slow; the launcher sends one itself."""
    rasa = fake_rasa("normal")
    run = launcher.Launcher(make_settings(rasa))
    try:
        run.warm_up(launcher.port_of(rasa.url, 5005))
    finally:
        run.stop_all()
    assert rasa.received[-1]["sender"] == launcher.WARM_UP_SENDER
    assert "已预热" in capsys.readouterr().out


def test_a_child_that_dies_is_started_again_with_growing_pauses(make_settings, monkeypatch, capsys):
    monkeypatch.setattr(launcher, "RESTART_FIRST_SECONDS", 0.2)
    monkeypatch.setattr(launcher, "STABLE_SECONDS", 0.5)
    run = launcher.Launcher(make_settings())
    try:
        child = run.start("flaky", [sys.executable, "-c", "import sys; sys.exit(3)"])
        first_pid = child.process.pid
        child.process.wait(timeout=30)
        run.supervise()  # notices the exit and plans a restart
        assert child.restart_at is not None and child.process.pid == first_pid
        time.sleep(0.25)
        run.supervise()
        assert child.process.pid != first_pid and child.restarts == 1
        child.process.wait(timeout=30)
        run.supervise()
        # The second failure in a row waits twice as long.
        assert child.restart_at - time.monotonic() == pytest.approx(0.4, abs=0.1)
        out = capsys.readouterr().out
        assert "flaky 意外退出（退出码 3），0 秒后重启（连续第 1 次）" in out
        assert "重启 flaky" in out
    finally:
        run.stop_all()


def test_a_child_that_runs_long_enough_is_forgiven(make_settings, monkeypatch):
    monkeypatch.setattr(launcher, "STABLE_SECONDS", 0.3)
    run = launcher.Launcher(make_settings())
    try:
        child = run.start("steady", [sys.executable, "-c", "import time; time.sleep(30)"])
        child.restarts = 3
        time.sleep(0.4)
        run.supervise()
        assert child.restarts == 0 and child.process.poll() is None
    finally:
        run.stop_all()
