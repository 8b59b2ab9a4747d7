"""Rasa's SQL tracker store, tuned for a local SQLite file.

Rasa commits the tracker two or three times per message, with its engine's defaults: SQLite's
rollback journal and a full sync to disk on every commit (about 8 ms each on this machine's
disk, with Rasa's event loop blocked meanwhile). Write-ahead logging with `synchronous=NORMAL`
makes a commit a plain write (0.01 ms); the database stays consistent after a crash, and a
power cut may lose at most the last turns' dialogue state (the conversation log, kept by the
gateway, is separate). Other databases (PostgreSQL) are left exactly as Rasa sets them up.

endpoints.yml:  tracker_store: {type: rasa_plugins.tracker_store.LocalSQLTrackerStore, ...}
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import event


def _tune_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class LocalSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose SQLite connections use write-ahead logging."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _tune_sqlite)
            # Connections opened while creating the tables were made without the pragmas.
            self.engine.dispose()
