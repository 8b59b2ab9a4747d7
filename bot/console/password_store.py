"""Where the console password's hash lives: one row of `console_credentials`, in the same
database as the conversation log (the SQLite file or PostgreSQL; bot/chat/log_schema.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import delete, insert, select

from bot.chat.log_schema import LogDatabase, credentials, database_target

__all__ = ["PasswordStore"]

# An operator's command (set-password) waits longer for a busy database than a page does.
BUSY_TIMEOUT_SECONDS = 5.0


class PasswordStore:
    """`database`: the log's own (create_app shares it), or a new one on a path or URL."""

    def __init__(self, database: LogDatabase | Path | str) -> None:
        if not isinstance(database, LogDatabase):
            database = LogDatabase(database, BUSY_TIMEOUT_SECONDS)
        self.database = database

    @classmethod
    def from_settings(cls, settings) -> PasswordStore:
        return cls(database_target(settings))

    def record(self) -> dict | None:
        """{"salt", "hash", "params", "updated"} of the password, None when none is set."""
        with self.database.reading() as conn:
            row = conn.execute(select(credentials).where(credentials.c.id == 1)).mappings().first()
        return dict(row) if row is not None else None

    def store(self, salt: str, hash: str, params: str) -> None:
        row = {
            "id": 1,
            "salt": salt,
            "hash": hash,
            "params": params,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        with self.database.writing() as conn:
            conn.execute(delete(credentials).where(credentials.c.id == 1))
            conn.execute(insert(credentials).values(**row))

    def close(self) -> None:
        self.database.close()
