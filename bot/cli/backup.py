"""`python -m bot backup DEST`: consistent copies of the conversation log and the knowledge
base while the assistant runs.

SQLite's online backup API copies a database page by page inside one read transaction, so the
copy is the database as it was at one moment, whatever the gateway writes meanwhile (in WAL
mode a reader never blocks a writer). Each copy is written beside its final name and renamed
when it passed `PRAGMA integrity_check`, so DEST never holds half a copy.

The copy of the conversation log holds what people wrote: it is readable by its owner only,
and RETENTION_DAYS and `forget` cannot reach it (see README, "Using it").
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings

__all__ = ["BackupFailed", "Copied", "backup"]

BUSY_TIMEOUT_SECONDS = 5.0
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


class BackupFailed(Exception):
    """A copy could not be made or did not pass the integrity check; the message is Chinese."""


@dataclass
class Copied:
    what: str
    source: Path
    copy: Path | None  # None: the source does not exist, nothing written
    size: int = 0


def sources(settings: Settings) -> list[tuple[str, Path]]:
    # With DATABASE_URL the log is in PostgreSQL: pg_dump backs it up (docs/deploy.md).
    if settings.database_url:
        return [("知识库", settings.knowledge_db)]
    return [("对话记录", settings.conversation_db), ("知识库", settings.knowledge_db)]


def backup(settings: Settings, dest: Path) -> list[Copied]:
    """Copy every source that exists into the folder `dest` (created if missing), each under
    its own file name, replacing an older copy there."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    copied = []
    for what, source in sources(settings):
        if not source.is_file():
            copied.append(Copied(what, source, None))
            continue
        target = dest / source.name
        copy_database(source, target, what)
        copied.append(Copied(what, source, target, target.stat().st_size))
    return copied


def copy_database(source: Path, target: Path, what: str = "数据库") -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # Created private before any page is written into it.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    try:
        # Read-write when allowed: reading a WAL database may need to create its -shm file.
        mode = "rw" if os.access(source, os.W_OK) else "ro"
        src = sqlite3.connect(
            f"{source.resolve().as_uri()}?mode={mode}", uri=True, timeout=BUSY_TIMEOUT_SECONDS
        )
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # all pages in one step: one consistent snapshot
                # One self-contained file: no -wal beside the copy.
                dst.execute("PRAGMA journal_mode=DELETE")
                result = dst.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        if result != "ok":
            raise BackupFailed(f"{what}的副本没有通过完整性检查：{result}")
        partial.replace(target)
    except sqlite3.Error as error:
        raise BackupFailed(f"{what}（{source}）没有备份成功：{error}") from error
    finally:
        partial.unlink(missing_ok=True)
