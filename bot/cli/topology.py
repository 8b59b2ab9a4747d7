"""Which processes talk to which: the endpoints file of each Rasa process, the action servers'
addresses, and Rasa's SQL tracker store (PostgreSQL with DATABASE_URL, else SQLite) and Redis
lock store (with REDIS_URL), chosen by settings (docs/deploy.md)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import yaml

from bot.settings import REPO_ROOT, Settings, tracker_db
from knowledge.yaml_files import load_yaml

ENDPOINTS = REPO_ROOT / "endpoints.yml"
LOOPBACK = "127.0.0.1"
# Beyond one machine (DATABASE_URL, REDIS_URL): Rasa's PostgreSQL pool per process (Rasa's own
# default, 50 + 100 overflow, would let two processes take all of PostgreSQL's 100
# connections), and how long a conversation's lock outlives a Rasa process killed while it
# held it (Rasa's default, 60 s, would give that conversation a minute of fallbacks; an
# answer takes well under RASA_TIMEOUT). The environment overrides each.
SCALED_RASA_ENV = {"SQL_POOL_SIZE": "5", "SQL_MAX_OVERFLOW": "10"}
LOCKED_RASA_ENV = {"TICKET_LOCK_LIFETIME": "10"}
POSTGRES_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss")


class TopologyError(ValueError):
    """The settings ask for a topology that cannot work; the message is for the operator."""


def numbered_urls(url: str, count: int, default_port: int) -> list[str]:
    """`url`, then the same address at the ports after it: `count` in all."""
    parts = urlsplit(url)
    first = parts.port or default_port
    host = parts.hostname or LOOPBACK
    return [
        urlunsplit((parts.scheme, f"{host}:{first + i}", parts.path, "", "")) for i in range(count)
    ]


def action_server_urls(settings: Settings) -> list[str]:
    """Every action server's URL: ACTION_SERVER_URL and the ports after it."""
    return numbered_urls(settings.action_server_url, settings.action_servers, 5055)


def sql_tracker_store(database_url: str) -> dict:
    """Rasa's own SQL tracker store (rasa.core.tracker_store.SQLTrackerStore: `url` is its
    host) on the PostgreSQL of DATABASE_URL, so every Rasa instance reads and writes every
    conversation."""
    parts = urlsplit(database_url)
    scheme, _, driver = parts.scheme.partition("+")
    if scheme not in POSTGRES_SCHEMES or not parts.hostname or not parts.path.strip("/"):
        raise TopologyError(
            "DATABASE_URL 应当是 postgresql://用户:密码@主机:端口/数据库，"
            f"现在是 {parts.scheme or '（没有协议）'}://…"
        )
    store = {
        "type": "SQL",
        "dialect": "postgresql" + (f"+{driver}" if driver else ""),
        "url": parts.hostname,
        "port": parts.port or 5432,
        "db": unquote(parts.path.lstrip("/")),
    }
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    if parts.query:
        store["query"] = dict(parse_qsl(parts.query))  # e.g. sslmode=require
    return store


def redis_lock_store(redis_url: str) -> dict:
    """Rasa's own Redis lock store (rasa.core.lock_store.RedisLockStore), so two messages of
    one conversation are never worked on at once, whichever Rasa instances they reach. Its
    keys go to the database after REDIS_URL's (the gateway's own keys are in REDIS_URL's,
    docs/deploy.md), under the prefix `rasa`."""
    parts = urlsplit(redis_url)
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise TopologyError(
            f"REDIS_URL 应当是 redis://主机:端口/库号，现在是 {parts.scheme or '（没有协议）'}://…"
        )
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise TopologyError(f"REDIS_URL 的库号应当是数字，现在是 {path}")
    store = {
        "type": "redis",
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(path or 0) + 1,
        "key_prefix": "rasa",
    }
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        store["use_ssl"] = True
    return store


def check_topology(settings: Settings) -> None:
    """Refuse what cannot work before anything starts (raises TopologyError)."""
    if settings.gateway_workers > 1 and not settings.redis_url:
        raise TopologyError(
            f"GATEWAY_WORKERS={settings.gateway_workers} 需要 REDIS_URL：几个网关进程要共用"
            "微信消息去重、迟到的回答和限流计数，只能放在 Redis 里。"
            "请设置 REDIS_URL（make run-scaled 会启动本机的 Redis），或者把 GATEWAY_WORKERS 设为 1。"
        )
    if settings.database_url:
        sql_tracker_store(settings.database_url)
    if settings.redis_url:
        redis_lock_store(settings.redis_url)


def rasa_env(settings: Settings) -> dict[str, str]:
    """What Rasa needs in its environment for the tracker and lock stores of the settings."""
    wanted = {}
    if settings.database_url:
        wanted.update(SCALED_RASA_ENV)
    if settings.redis_url:
        wanted.update(LOCKED_RASA_ENV)
    return {name: os.environ.get(name, value) for name, value in wanted.items()}


def write_endpoints(settings: Settings, run_dir: Path, index: int = 0) -> Path:
    """endpoints.yml for Rasa process `index`: the action endpoint at action server
    `index` mod ACTION_SERVERS (from ACTION_SERVER_URL; tests use other ports), and the
    tracker store: the SQLite file, or with DATABASE_URL Rasa's SQL store on PostgreSQL; with
    REDIS_URL also Rasa's Redis lock store. Owner-only: it may hold the passwords."""
    config = {}
    if ENDPOINTS.is_file():
        config = load_yaml(ENDPOINTS) or {}
    actions = action_server_urls(settings)
    config["action_endpoint"] = {"url": actions[index % len(actions)] + "/webhook"}
    if settings.database_url:
        config["tracker_store"] = sql_tracker_store(settings.database_url)
    else:
        # An absolute path: Rasa resolves a relative one against its working directory, and
        # waits forever for a database whose folder does not exist.
        db = tracker_db(settings, index)
        db.parent.mkdir(parents=True, exist_ok=True)
        config["tracker_store"] = {
            # Rasa's SQL store with SQLite in write-ahead mode (rasa_plugins/tracker_store.py).
            "type": "rasa_plugins.tracker_store.LocalSQLTrackerStore",
            "dialect": "sqlite",
            "db": str(db),
        }
    if settings.redis_url:
        config["lock_store"] = redis_lock_store(settings.redis_url)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / ("endpoints.yml" if index == 0 else f"endpoints-{index + 1}.yml")
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path
