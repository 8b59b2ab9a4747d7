"""scripts/local-services.sh for real: Debian's Redis and PostgreSQL on loopback ports of the
infra range, written to and read from with the clients the assistant uses (redis, psycopg2,
SQLAlchemy), started twice, stopped, and broken on purpose."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import psycopg2
import pytest
import redis
import sqlalchemy

from tests.scaled.services import (
    ServicesError,
    make_services_dir,
    remove_services_dir,
    run_script,
    running_services,
    urls,
)

REDIS_PORT = 6400
PG_PORT = 5440
# A second pair, for a folder that must not disturb the first.
OTHER_REDIS_PORT = 6402
OTHER_PG_PORT = 5442


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def write_and_read(redis_url: str, database_url: str, text: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    client.set("local-services-test", text, ex=60)
    assert client.get("local-services-test").decode() == text
    client.close()
    # psycopg2's `with connection` commits but does not close.
    connection = psycopg2.connect(database_url, connect_timeout=5)
    with connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS notes (body text NOT NULL)")
        cursor.execute("INSERT INTO notes (body) VALUES (%s)", (text,))
    connection.close()


def notes(database_url: str) -> list[str]:
    # SQLAlchemy 1.4 as Rasa's SQL tracker store uses it, with psycopg2 underneath.
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text("SELECT body FROM notes ORDER BY body"))
            return [row[0] for row in rows]
    finally:
        engine.dispose()


@pytest.fixture
def folder():
    path = make_services_dir()
    yield path
    # Stopped whatever the test did, so no server outlives it.
    for ports in ((REDIS_PORT, PG_PORT), (OTHER_REDIS_PORT, OTHER_PG_PORT)):
        try:
            run_script(path, *ports, "stop")
        except ServicesError:
            pass
    remove_services_dir(path)


def test_start_use_start_again_stop_and_start_on_the_same_data(folder: Path):
    with running_services(folder, REDIS_PORT, PG_PORT) as (redis_url, database_url):
        assert redis_url == f"redis://127.0.0.1:{REDIS_PORT}/0"
        assert database_url.startswith("postgresql://assistant:")
        assert database_url.endswith(f"@127.0.0.1:{PG_PORT}/assistant")
        write_and_read(redis_url, database_url, "盲人按摩考试怎么报名")

        # Starting what runs is a no-op: same servers, same password, data untouched.
        again = run_script(folder, REDIS_PORT, PG_PORT, "start")
        assert "redis already running" in again
        assert "postgres already running" in again
        assert urls(folder, REDIS_PORT, PG_PORT) == (redis_url, database_url)
        assert notes(database_url) == ["盲人按摩考试怎么报名"]
        assert "redis: up" in run_script(folder, REDIS_PORT, PG_PORT, "status")

        password = folder / "postgres.password"
        assert stat.S_IMODE(password.stat().st_mode) == 0o600
        assert password.read_text().strip() in database_url

    # running_services stopped both: nothing listens, and status says so by failing.
    assert not port_open(REDIS_PORT)
    assert not port_open(PG_PORT)
    with pytest.raises(ServicesError, match="redis: down"):
        run_script(folder, REDIS_PORT, PG_PORT, "status")

    # A second start keeps the database (initdb only once) and the password.
    with running_services(folder, REDIS_PORT, PG_PORT) as (_, database_url_again):
        assert database_url_again == database_url
        assert notes(database_url) == ["盲人按摩考试怎么报名"]


def test_loopback_only_and_password_required(folder: Path):
    with running_services(folder, REDIS_PORT, PG_PORT) as (redis_url, database_url):
        client = redis.Redis.from_url(redis_url, socket_timeout=5)
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert client.config_get("protected-mode")["protected-mode"] == "yes"
        assert client.config_get("appendonly")["appendonly"] == "no"
        client.close()
        connection = psycopg2.connect(database_url, connect_timeout=5)
        with connection, connection.cursor() as cursor:
            cursor.execute("SHOW listen_addresses")
            assert cursor.fetchone()[0] == "127.0.0.1"
        connection.close()

        wrong = database_url.replace("assistant:", "assistant:not-the-password", 1)
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(wrong, connect_timeout=5)


def test_a_port_taken_by_another_server_is_refused(folder: Path):
    other = folder / "other"
    other.mkdir(mode=0o711)
    with running_services(folder, REDIS_PORT, PG_PORT):
        # Another folder on the same Redis port must not take the running server for its own.
        with pytest.raises(ServicesError, match=f"port {REDIS_PORT} is taken"):
            run_script(other, REDIS_PORT, OTHER_PG_PORT, "start", "redis")
        with pytest.raises(ServicesError, match=f"port {PG_PORT} is taken"):
            run_script(other, OTHER_REDIS_PORT, PG_PORT, "start", "postgres")
        assert not port_open(OTHER_REDIS_PORT)


def test_a_server_that_cannot_start_fails_with_its_log(folder: Path):
    with running_services(folder, REDIS_PORT, PG_PORT):
        pass
    config = folder / "postgres" / "postgresql.conf"
    good = config.read_text()
    config.write_text(good + "\nthis is not a setting\n")
    try:
        with pytest.raises(ServicesError) as failure:
            run_script(folder, REDIS_PORT, PG_PORT, "start", "postgres")
        message = str(failure.value)
        assert "postgres did not start" in message
        assert "last lines of" in message
        assert "syntax error" in message
    finally:
        config.write_text(good)
    assert not port_open(PG_PORT)


def test_the_session_fixture_serves_both(services):
    redis_url, database_url = services
    write_and_read(redis_url, database_url, "残疾人就业补贴")
    assert "残疾人就业补贴" in notes(database_url)
