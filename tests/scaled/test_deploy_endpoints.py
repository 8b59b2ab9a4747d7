"""deploy/endpoints.yml, as Rasa itself reads it, against real PostgreSQL and Redis: the SQL
tracker store keeps a conversation that another store object (another Rasa instance) then
reads, and the Redis lock store hands out one conversation's tickets in order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

ENDPOINTS = Path(__file__).resolve().parents[2] / "deploy" / "endpoints.yml"


def rasa_environment(monkeypatch, redis_url: str, database_url: str) -> None:
    """The variables deploy/endpoints.yml names, from the services' URLs."""
    database, cache = urlsplit(database_url), urlsplit(redis_url)
    values = {
        "ACTION_SERVER_URL": "http://127.0.0.1:9",
        "POSTGRES_HOST": database.hostname,
        "POSTGRES_PORT": str(database.port),
        "POSTGRES_DB": database.path.lstrip("/"),
        "POSTGRES_USER": database.username,
        "POSTGRES_PASSWORD": database.password,
        "REDIS_HOST": cache.hostname,
        "REDIS_PORT": str(cache.port),
        "REDIS_PASSWORD": "",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_rasa_keeps_conversations_in_postgresql_and_locks_in_redis(services, monkeypatch):
    redis_url, database_url = services
    rasa_environment(monkeypatch, redis_url, database_url)

    tracker_config = read_endpoint_config(str(ENDPOINTS), "tracker_store")
    first, second = TrackerStore.create(tracker_config), TrackerStore.create(tracker_config)
    assert isinstance(first, SQLTrackerStore)
    assert first.engine.dialect.name == "postgresql"

    tracker = DialogueStateTracker.from_events(
        "deploy-endpoints-test",
        [
            ActionExecuted("action_listen"),
            UserUttered("盲人按摩考试怎么报名", {"name": "ask_massage_exam", "confidence": 0.9}),
            SlotSet("last_entry", "13"),
        ],
    )
    asyncio.run(first.save(tracker))
    # Another instance reads the same conversation, context included.
    found = asyncio.run(second.retrieve("deploy-endpoints-test"))
    assert found is not None
    assert found.latest_message.text == "盲人按摩考试怎么报名"
    # Without a domain the tracker has no slots to fill; the event itself came back.
    assert [(e.key, e.value) for e in found.events if isinstance(e, SlotSet)] == [
        ("last_entry", "13")
    ]

    lock_config = read_endpoint_config(str(ENDPOINTS), "lock_store")
    locks = LockStore.create(lock_config)
    assert isinstance(locks, RedisLockStore)
    assert locks.red.connection_pool.connection_kwargs["db"] == 1
    first_ticket = locks.issue_ticket("deploy-endpoints-test")
    second_ticket = locks.issue_ticket("deploy-endpoints-test")
    assert second_ticket == first_ticket + 1
    assert locks.is_someone_waiting("deploy-endpoints-test")
    locks.cleanup("deploy-endpoints-test", first_ticket)
    locks.cleanup("deploy-endpoints-test", second_ticket)
    assert not locks.is_someone_waiting("deploy-endpoints-test")
