"""Real Redis and PostgreSQL for the scale tests, through the project's own
`scripts/local-services.sh`: on the caller's loopback ports, in a folder of the caller's, and
stopped again afterwards.

    with running_services(make_services_dir(), 6402, 5442) as (redis_url, database_url):
        ...

Tests in this folder use the session fixture `services` (conftest.py) instead; a test that
needs its own instances (a kill -9, a fresh database) calls `running_services` itself, on the
infra helper's ports 6400-6419 / 5440-5459 or its own range.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "local-services.sh"
# The script bounds each wait by WAIT_SECONDS (30) itself; this bounds the whole call, apt-get
# of a first install included.
INSTALL_TIMEOUT = 600
CALL_TIMEOUT = 120

__all__ = [
    "ServicesError",
    "make_services_dir",
    "remove_services_dir",
    "run_script",
    "running_services",
    "urls",
]


class ServicesError(RuntimeError):
    """The script failed; the message holds what it printed (with the server's log tail)."""


def _env(services_dir: Path, redis_port: int, pg_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SERVICES_DIR": str(services_dir),
        "REDIS_PORT": str(redis_port),
        "PG_PORT": str(pg_port),
    }


def run_script(
    services_dir: Path,
    redis_port: int,
    pg_port: int,
    *args: str,
    timeout: float = CALL_TIMEOUT,
) -> str:
    """Run `local-services.sh ARGS…` for these ports and folder; its output, or ServicesError."""
    try:
        result = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=_env(services_dir, redis_port, pg_port),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServicesError(f"local-services.sh {' '.join(args)}: no end in {timeout} s") from exc
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise ServicesError(
            f"local-services.sh {' '.join(args)} exited {result.returncode}:\n{output}"
        )
    return output


def urls(services_dir: Path, redis_port: int, pg_port: int) -> tuple[str, str]:
    """(REDIS_URL, DATABASE_URL) as `local-services.sh urls` prints them."""
    lines = run_script(services_dir, redis_port, pg_port, "urls").splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return values["REDIS_URL"], values["DATABASE_URL"]


def make_services_dir(prefix: str = "scaled-services-") -> Path:
    """A new folder for the services' data, reachable by PostgreSQL's OS user.

    Run as root, the script runs PostgreSQL as `postgres`, which must be able to enter every
    parent folder: pytest's own tmp folders (/tmp/pytest-of-root, mode 700) are closed to it.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    return path


@contextmanager
def running_services(
    services_dir: Path, redis_port: int, pg_port: int
) -> Iterator[tuple[str, str]]:
    """Install what is missing, start Redis and PostgreSQL, yield (redis_url, database_url),
    and stop both at the end, whatever happened in between."""
    run_script(services_dir, redis_port, pg_port, "install", timeout=INSTALL_TIMEOUT)
    try:
        run_script(services_dir, redis_port, pg_port, "start")
        yield urls(services_dir, redis_port, pg_port)
    finally:
        run_script(services_dir, redis_port, pg_port, "stop")


def remove_services_dir(path: Path) -> None:
    """Delete a folder made by make_services_dir (after the services have stopped)."""
    shutil.rmtree(path, ignore_errors=True)
