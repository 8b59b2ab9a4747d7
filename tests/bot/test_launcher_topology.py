"""The launcher's topology from settings: Rasa's endpoints on SQLite or on PostgreSQL and
Redis (read back by Rasa's own store classes), several action servers, gateway workers."""

from __future__ import annotations

import stat

import pytest
import yaml
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.utils.endpoints import read_endpoint_config

from bot.cli import launcher, topology

DATABASE_URL = "postgresql://assistant:p%40ss@127.0.0.1:5480/assistant"
REDIS_URL = "redis://127.0.0.1:6440/0"


def endpoints(path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_without_the_services_the_endpoints_are_the_single_machine_ones(make_settings, tmp_path):
    settings = make_settings(action_server_url="http://127.0.0.1:15055")
    config = endpoints(topology.write_endpoints(settings, tmp_path / "run", 1))
    assert config["action_endpoint"] == {"url": "http://127.0.0.1:15055/webhook"}
    assert config["tracker_store"] == {
        "type": "rasa_plugins.tracker_store.LocalSQLTrackerStore",
        "dialect": "sqlite",
        "db": str(settings.rasa_tracker_db),
    }
    assert "lock_store" not in config
    assert topology.rasa_env(settings) == {}


def test_with_database_url_rasa_keeps_trackers_in_postgresql(make_settings, tmp_path):
    settings = make_settings(database_url=DATABASE_URL)
    path = topology.write_endpoints(settings, tmp_path / "run")
    config = endpoints(path)
    assert config["tracker_store"] == {
        "type": "SQL",
        "dialect": "postgresql",
        "url": "127.0.0.1",
        "port": 5480,
        "db": "assistant",
        "username": "assistant",
        "password": "p@ss",
    }
    assert "lock_store" not in config
    # Rasa reads the file as it reads any endpoints file, and builds the same URL back.
    read = read_endpoint_config(str(path), "tracker_store")
    assert read.type == "SQL"
    url = SQLTrackerStore.get_db_url(host=read.url, **read.kwargs)
    assert url.render_as_string(hide_password=False) == DATABASE_URL
    # The file holds the password: the owner's only.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert topology.rasa_env(settings) == {"SQL_POOL_SIZE": "5", "SQL_MAX_OVERFLOW": "10"}


def test_with_redis_url_rasa_locks_conversations_in_redis(make_settings, tmp_path, monkeypatch):
    settings = make_settings(redis_url="redis://:secret@127.0.0.1:6440/2")
    path = topology.write_endpoints(settings, tmp_path / "run")
    assert endpoints(path)["lock_store"] == {
        "type": "redis",
        "url": "127.0.0.1",
        "port": 6440,
        "db": 3,  # the one after the gateway's
        "key_prefix": "rasa",
        "password": "secret",
    }
    # Rasa's own lock store from the file (redis-py connects only when first used).
    store = LockStore.create(read_endpoint_config(str(path), "lock_store"))
    assert isinstance(store, RedisLockStore)
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "127.0.0.1",
        6440,
        3,
        "secret",
    )
    assert store.key_prefix == "rasa:lock:"
    assert topology.rasa_env(settings) == {"TICKET_LOCK_LIFETIME": "10"}
    monkeypatch.setenv("TICKET_LOCK_LIFETIME", "30")
    assert topology.rasa_env(settings) == {"TICKET_LOCK_LIFETIME": "30"}


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("database_url", "mysql://a:b@127.0.0.1/x", "DATABASE_URL 应当是 postgresql://"),
        ("database_url", "postgresql://a:b@127.0.0.1", "DATABASE_URL 应当是 postgresql://"),
        ("redis_url", "http://127.0.0.1:6379", "REDIS_URL 应当是 redis://"),
        ("redis_url", "redis://127.0.0.1:6379/x", "库号应当是数字"),
    ],
)
def test_urls_that_rasa_cannot_use_are_refused(make_settings, name, value, words):
    with pytest.raises(topology.TopologyError, match=words):
        topology.check_topology(make_settings(**{name: value}))


def test_rasa_process_i_calls_action_server_i_mod_n(make_settings, tmp_path):
    settings = make_settings(
        action_server_url="http://127.0.0.1:5620", action_servers=2, rasa_processes=3
    )
    assert topology.action_server_urls(settings) == [
        "http://127.0.0.1:5620",
        "http://127.0.0.1:5621",
    ]
    urls = [
        endpoints(topology.write_endpoints(settings, tmp_path / "run", i))["action_endpoint"]["url"]
        for i in range(3)
    ]
    assert urls == [
        "http://127.0.0.1:5620/webhook",
        "http://127.0.0.1:5621/webhook",
        "http://127.0.0.1:5620/webhook",
    ]


def test_two_action_servers_are_started_on_their_ports(make_settings, monkeypatch):
    started = []

    def fake_start(name, args, env=None):
        started.append((name, args[-1]))

    run = launcher.Launcher(
        make_settings(action_server_url="http://127.0.0.1:5620", action_servers=2)
    )
    monkeypatch.setattr(run, "start", fake_start)
    waits = run.spawn_action_server()
    assert started == [("action_server", "5620"), ("action_server-2", "5621")]
    assert len(waits) == 2
    run.stop_all()


def test_the_gateway_gets_its_workers(make_settings, monkeypatch):
    started = {}

    def fake_start(name, args, env=None):
        started.update(name=name, args=args)

    run = launcher.Launcher(make_settings(redis_url=REDIS_URL, gateway_workers=2))
    monkeypatch.setattr(run, "start", fake_start)
    run.spawn_gateway()
    args = started["args"]
    assert args[args.index("--workers") + 1] == "2"
    run.stop_all()


def test_several_gateway_workers_without_redis_are_refused_before_anything_starts(
    make_settings, monkeypatch, capsys
):
    run = launcher.Launcher(make_settings(gateway_workers=2))
    monkeypatch.setattr(run, "start", lambda *a, **k: pytest.fail("nothing may start"))
    assert run.run() == 2
    out = capsys.readouterr().out
    assert "GATEWAY_WORKERS=2 需要 REDIS_URL" in out
    assert "GATEWAY_WORKERS 设为 1" in out
