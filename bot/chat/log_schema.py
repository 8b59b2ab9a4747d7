"""The conversation log's tables and its database: one schema, two engines.

With DATABASE_URL unset the log is the SQLite file CONVERSATION_DB (write-ahead mode, freed text
zeroed), as it always was; with DATABASE_URL (`postgresql://…`) the same tables live in
PostgreSQL, beside Rasa's trackers. SQLAlchemy Core (Rasa's own dependency) writes the SQL for
either; the few places where the two dialects differ are named here (`seconds_between`,
`insertion_order`).

The table, column and index names and types are those sqlite-utils created before, so a log
written by an earlier version opens unchanged and gains what it lacks.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    literal_column,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

__all__ = [
    "AUDIT",
    "CREDENTIALS",
    "REVIEWS",
    "TRAINING_EXAMPLES",
    "TURNS",
    "LogDatabase",
    "database_target",
    "metadata",
]

TURNS = "turns"
CREDENTIALS = "console_credentials"
# Who looked at conversation text: one row per console page viewed or exported that shows it.
AUDIT = "console_audit"
# Hotline staff's verdicts on questions (bot/console/review.py): the question's text, never its sender.
REVIEWS = "reviews"
# Labelled questions staff chose to keep as anonymous training examples: text and label only,
# kept past RETENTION_DAYS (bot/chat/retention.py KEPT_TABLES).
TRAINING_EXAMPLES = "training_examples"
# PostgreSQL: how long a connection attempt or a statement may take. A chat waits 0.5 s for its
# log line anyway; an operator's command gets the same bound, so a dead server fails fast.
PG_CONNECT_TIMEOUT_SECONDS = 3
PG_STATEMENT_TIMEOUT_MS = 10_000

metadata = MetaData()

turns = Table(
    TURNS,
    metadata,
    Column("id", Text, primary_key=True),
    Column("time", Text),
    Column("channel", Text),
    Column("sender", Text),
    Column("rasa_sender", Text),
    Column("message", Text),
    Column("payload", Text),
    Column("normalized", Text),
    Column("replies", Text),
    Column("reply_text", Text),
    Column("intent", Text),
    Column("confidence", Float),
    Column("sources", Text),
    Column("cited", Text),
    Column("kind", Text),
    Column("latency_ms", Integer),
    Column("handoff", Integer),
    Column("answered", Integer),
    Column("feedback", Text),
)
Index("idx_turns_sender_time", turns.c.sender, turns.c.time)
Index("idx_turns_time", turns.c.time)
# UNANSWERED_SQL: created on open, so an older log gets it too.
Index("idx_turns_answered_normalized_time", turns.c.answered, turns.c.normalized, turns.c.time)
# The review page's latest turn of a wording (bot/console/review.py).
Index("idx_turns_normalized_time", turns.c.normalized, turns.c.time)

credentials = Table(
    CREDENTIALS,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("salt", Text),
    Column("hash", Text),
    Column("params", Text),
    Column("updated", Text),
)

audit = Table(
    AUDIT,
    metadata,
    Column("time", Text),
    Column("page", Text),
    Column("channel", Text),
    Column("filter", Text),
    Column("rows", Integer),
)

reviews = Table(
    REVIEWS,
    metadata,
    Column("normalized", Text, primary_key=True),  # normalize_question: one row per wording
    Column("question", Text),  # the (masked) wording, as last asked
    Column("verdict", Text),  # bot.console.review.VERDICTS
    Column("label", Text),  # what the right answer is, as in tests/eval (null: none)
    Column("reviewer", Text),
    Column("time", Text),  # when it was reviewed
    Column("asked", Text),  # when the wording was last asked (retention counts from it)
    Column("people", Integer),  # how many conversations had asked it
    Column("held_back", Integer),  # 1: a "real questions" check, never trained on
    Column("kept", Integer),  # 1: also kept as an anonymous training example
)

training_examples = Table(
    TRAINING_EXAMPLES,
    metadata,
    Column("normalized", Text, primary_key=True),
    Column("question", Text),
    Column("label", Text),
    Column("held_back", Integer),
)

# Columns a log written by an earlier version may lack: (table, column, SQL type).
ADDED_COLUMNS = (
    (TURNS, "payload", "TEXT"),  # before button titles
    (TURNS, "rasa_sender", "TEXT"),  # before `forget`
)


def database_target(settings) -> Path | str:
    """Where the log lives: DATABASE_URL when set, else the SQLite file CONVERSATION_DB."""
    return settings.database_url or settings.conversation_db


def is_url(target: Path | str) -> bool:
    return isinstance(target, str) and "://" in target


def shown_target(target: Path | str) -> str:
    """The target for an operator's eyes: a URL without its password."""
    if is_url(target):
        return make_url(_sqlalchemy_url(str(target))).render_as_string(hide_password=True)
    return str(target)


def _sqlalchemy_url(url: str) -> str:
    # Heroku-style and libpq-style names; SQLAlchemy 1.4 knows only `postgresql`.
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


class LogDatabase:
    """The log's engine, opened on first use and set up then (tables, indexes, columns).

    SQLite: one connection shared by the log writer and the threadpool, guarded by `lock` (as
    sqlite-utils was used before), with a short busy timeout: a busy log costs a log line,
    never an answer. PostgreSQL: a small connection pool; no process-wide lock is needed.
    """

    def __init__(self, target: Path | str, busy_timeout: float) -> None:
        self.target = target if is_url(target) else Path(target)
        self.busy_timeout = busy_timeout
        self.lock = threading.Lock()
        self._engine: Engine | None = None
        self._sqlite = None  # the one sqlite3 connection of the SQLite engine

    @property
    def is_sqlite(self) -> bool:
        return not is_url(self.target) or str(self.target).startswith("sqlite")

    def engine(self) -> Engine:
        if self._engine is None:
            engine = self._create_engine()
            try:
                with engine.begin() as conn:
                    _ensure_tables(conn)
            except Exception:
                engine.dispose()  # try again next time rather than keep a half-set-up engine
                raise
            self._engine = engine
        return self._engine

    def _create_engine(self) -> Engine:
        if not is_url(self.target):
            path = Path(self.target)
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                f"sqlite:///{path}",
                future=True,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False, "timeout": self.busy_timeout},
            )
            event.listen(engine, "connect", self._on_sqlite_connect)
            return engine
        url = _sqlalchemy_url(str(self.target))
        if url.startswith("sqlite"):
            raise ValueError("DATABASE_URL: leave it empty for SQLite (CONVERSATION_DB)")
        # Options given in the URL (`?options=-csearch_path%3D…`) are kept beside the timeout.
        options = make_url(url).query.get("options") or ""
        if not isinstance(options, str):
            options = " ".join(options)
        return create_engine(
            url,
            future=True,
            pool_size=5,
            max_overflow=5,
            pool_pre_ping=True,  # a connection that died with the server is replaced, not used
            connect_args={
                "connect_timeout": PG_CONNECT_TIMEOUT_SECONDS,
                "options": f"{options} -c statement_timeout={PG_STATEMENT_TIMEOUT_MS}".strip(),
            },
        )

    def _on_sqlite_connect(self, dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        # Text freed by an update or a delete is overwritten with zeros rather than left in the
        # file's free space (retention, bot/chat/retention.py).
        dbapi_connection.execute("PRAGMA secure_delete=ON")
        self._sqlite = dbapi_connection

    def guarded(self):
        """The lock around every use of the shared SQLite connection (nothing on PostgreSQL)."""
        return self.lock if self.is_sqlite else nullcontext()

    @contextmanager
    def reading(self):
        with self.guarded(), self.engine().connect() as conn:
            yield conn

    @contextmanager
    def writing(self):
        """A transaction: committed at the end, rolled back on an error."""
        with self.guarded(), self.engine().begin() as conn:
            yield conn

    def sqlite_connection(self):
        """The shared sqlite3 connection itself (SQLite only; callers hold `lock`)."""
        self.engine()
        return self._sqlite

    def seconds_between(self, later: str, earlier: str) -> str:
        """SQL for the seconds between two of the log's ISO time columns."""
        if self.is_sqlite:
            return f"(julianday({later}) - julianday({earlier})) * 86400"
        return (
            f"extract(epoch from (cast({later} as timestamptz) - cast({earlier} as timestamptz)))"
        )

    def insertion_order(self):
        """A tie-break among rows of the same time: SQLite's rowid; PostgreSQL keeps none, so
        there the time alone orders (one log never writes two turns with the same time:
        ConversationLog._turn_time)."""
        return literal_column("rowid") if self.is_sqlite else None

    def close(self) -> None:
        with self.lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _ensure_tables(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)
    inspector = inspect(conn)
    for table, column, sql_type in ADDED_COLUMNS:
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            conn.execute(text(f"alter table {table} add column {column} {sql_type}"))
    # Indexes of a table that already existed (create_all makes them only with a new table).
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)
