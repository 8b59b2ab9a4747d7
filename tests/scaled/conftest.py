"""The scale tests' Redis and PostgreSQL: one pair for the whole session (`services`), started
by scripts/local-services.sh in a folder of its own and stopped at the end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.scaled.services import make_services_dir, remove_services_dir, running_services

HERE = Path(__file__).resolve().parent
# The infra range (6400-6419, 5440-5459); overridable, so two people can run them at once.
SERVICES_REDIS_PORT = int(os.environ.get("SCALED_REDIS_PORT", "6401"))
SERVICES_PG_PORT = int(os.environ.get("SCALED_PG_PORT", "5441"))


def pytest_collection_modifyitems(items):
    """Everything in tests/scaled needs real services: marked `scaled`."""
    for item in items:
        if str(HERE) in str(item.fspath):
            item.add_marker(pytest.mark.scaled)


@pytest.fixture(scope="session")
def services():
    """(redis_url, database_url) of a Redis and a PostgreSQL running for this session."""
    folder = make_services_dir()
    try:
        with running_services(folder, SERVICES_REDIS_PORT, SERVICES_PG_PORT) as found:
            yield found
    finally:
        remove_services_dir(folder)
