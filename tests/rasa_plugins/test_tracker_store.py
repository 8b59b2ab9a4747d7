"""The tracker store Rasa loads from the endpoints file keeps trackers, in SQLite's WAL mode."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from rasa_plugins.tracker_store import LocalSQLTrackerStore

DOMAIN = Domain.from_yaml(
    "version: '3.1'\nslots:\n  topic:\n    type: any\n    mappings: [{type: custom}]\n"
)


def _run(coroutine):
    """Run on a thread of its own: other tests (Playwright's sync API) may leave an event loop
    running on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_sqlite_trackers_use_write_ahead_logging_and_survive(tmp_path):
    db = tmp_path / "trackers.db"
    store = LocalSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL

    tracker = DialogueStateTracker.from_events(
        "someone", [UserUttered("盲人按摩"), SlotSet("topic", "13")], DOMAIN.slots
    )
    _run(store.save(tracker))
    again = LocalSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    kept = _run(again.retrieve("someone"))
    assert kept is not None and kept.get_slot("topic") == "13"
