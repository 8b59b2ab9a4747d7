"""Isolation for the state tests on a shared Redis and PostgreSQL: a PostgreSQL schema of
their own per test (dropped afterwards) and a Redis database number of their own (emptied
first), so they neither see nor disturb what other scale tests keep there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import redis
from sqlalchemy import create_engine, text

# Redis databases 0 and 1 are the gateway's and Rasa's lock store (deploy/endpoints.yml).
STATE_REDIS_DB = 7


@contextmanager
def fresh_schema(database_url: str) -> Iterator[str]:
    """DATABASE_URL of a new, empty schema (the connection's search_path), dropped at the end."""
    name = f"state_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, future=True)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"create schema {name}"))
        yield f"{database_url}?options={quote(f'-csearch_path={name}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"drop schema if exists {name} cascade"))
        admin.dispose()


def fresh_redis(redis_url: str, db: int = STATE_REDIS_DB) -> str:
    """REDIS_URL of database `db`, emptied."""
    url = redis_url.rsplit("/", 1)[0] + f"/{db}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url
