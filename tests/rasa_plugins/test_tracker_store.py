"""The tracker store Rasa loads from the endpoints file keeps trackers, in SQLite's WAL mode."""

from __future__ import annotations

import asyncio

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from rasa_plugins.tracker_store import LocalSQLTrackerStore

DOMAIN = Domain.from_yaml(
    "version: '3.1'\nslots:\n  topic:\n    type: any\n    mappings: [{type: custom}]\n"
)


def test_sqlite_trackers_use_write_ahead_logging_and_survive(tmp_path):
    db = tmp_path / "trackers.db"
    store = LocalSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL

    tracker = DialogueStateTracker.from_events(
        "someone", [UserUttered("盲人按摩"), SlotSet("topic", "13")], DOMAIN.slots
    )
    asyncio.run(store.save(tracker))
    again = LocalSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    kept = asyncio.run(again.retrieve("someone"))
    assert kept is not None and kept.get_slot("topic") == "13"
