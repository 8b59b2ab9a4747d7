"""Gateway fixtures: settings with throwaway databases, a fake Rasa, a TestClient."""

from __future__ import annotations

import logging
import os

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.console import passwords
from bot.console.passwords import set_password
from bot.settings import Settings
from tests.fakes import FakeKnowledgeBase, FakeRasa

CONSOLE_PASSWORD = "hotline-test-password"
# scrypt at the production cost takes about 60 ms for each password set or signed in with, and
# the gateway tests do that a hundred times. They hash at a sixteenth of the memory and work
# instead (Django's test settings do the same with their hasher); the stored record carries its
# parameters, so signing in reads them back exactly as in production.
# test_console.py::test_a_password_is_stored_at_the_production_cost checks the real ones.
PRODUCTION_SCRYPT_PARAMS = dict(passwords.SCRYPT_PARAMS)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    monkeypatch.setattr(passwords, "SCRYPT_PARAMS", {**PRODUCTION_SCRYPT_PARAMS, "n": 2**10})


@pytest.fixture
def fake_rasa():
    started: list[FakeRasa] = []

    def start(mode: str = "normal", **kwargs) -> FakeRasa:
        fake = FakeRasa(mode, **kwargs).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


def gateway_settings(folder, rasa: FakeRasa | None = None, **overrides) -> Settings:
    """Settings of a test gateway: its databases and logs in `folder`, Rasa the fake one."""
    values = {
        "app_env": "development",
        "secret_key": "test-secret-key-that-is-long-enough-000",
        "conversation_db": folder / "conversations.db",
        # Never the repository's var/: the gateway purges its tracker files (bot/chat/retention.py).
        "rasa_tracker_db": folder / "rasa_tracker.db",
        "knowledge_db": folder / "missing-knowledge.db",
        "log_dir": folder / "logs",
        "rasa_timeout": 1.0,
        "rasa_processes": 1,  # one fake Rasa (tests of several set it themselves)
        # The decision fitted for the tests (tests/conftest.py), never models/decision.json.
        "decision_model": os.environ["DECISION_MODEL"],
    }
    if rasa is not None:
        values["rasa_url"] = rasa.url
        values["action_server_url"] = rasa.url
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def make_settings(tmp_path):
    def make(rasa: FakeRasa | None = None, **overrides) -> Settings:
        return gateway_settings(tmp_path, rasa, **overrides)

    return make


@pytest.fixture
def make_client(make_settings):
    clients: list[TestClient] = []

    def make(rasa: FakeRasa | None = None, open_knowledge=None, **overrides) -> TestClient:
        app = create_app(make_settings(rasa, **overrides), open_knowledge)
        client = TestClient(app)
        client.__enter__()  # runs the lifespan, closed below
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client, fake_rasa) -> TestClient:
    return make_client(fake_rasa("normal"))


@pytest.fixture(scope="module")
def shared_rasa():
    fake = FakeRasa("normal").start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory, shared_rasa) -> TestClient:
    """One gateway for the many cases of a module's parametrized tests that send what it refuses
    or only reads (bad bodies, hostile text, headers): an app takes about 70 ms to create, and
    those cases are a hundred. Its Rasa is `shared_rasa`; rate limits are off, as every case
    comes from one address. A test that needs a gateway of its own uses `client`."""
    settings = gateway_settings(
        tmp_path_factory.mktemp("shared-gateway"),
        shared_rasa,
        rate_limit_per_minute=0,
        rate_limit_per_address_per_minute=0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def console_client(make_client, fake_rasa) -> TestClient:
    """A client of an app with a console password and the fake knowledge base."""
    client = make_client(fake_rasa("normal"), open_knowledge=FakeKnowledgeBase)
    set_password(client.app.state.password_store, CONSOLE_PASSWORD)
    return client


def sign_in(client: TestClient, password: str = CONSOLE_PASSWORD):
    page = client.get("/console/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return client.post(
        "/console/login",
        data={"password": password, "csrf": csrf, "next": "/console"},
        follow_redirects=False,
    )


@pytest.fixture
def signed_in(console_client) -> TestClient:
    response = sign_in(console_client)
    assert response.status_code == 303
    return console_client


@pytest.fixture
def caplog_all(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog
