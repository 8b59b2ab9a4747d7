"""Things the test session makes once: once per session (shared by pytest-xdist's workers),
and kept in pytest's cache between sessions under the digest of their inputs."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def once_per_session(tmp_path_factory, name: str, make: Callable[[Path], object]) -> Path:
    """A folder `make` filled once for the whole test session, also when pytest-xdist shares
    the session out to workers (`make check`): they have one temporary folder above their
    own, and the first to come makes the thing while the others wait for it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / name
    folder.mkdir(exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".done").exists():
            make(folder)
            (folder / ".done").touch()
    return folder


def cached_once(
    request, tmp_path_factory, name: str, inputs: str, make: Callable[[Path], None]
) -> Path:
    """`make(file)` once per session (once_per_session), its result also kept in pytest's cache
    (.pytest_cache/, cleared by `--cache-clear`) under `inputs`, the digest of what it is made
    from: the same inputs give the same file, so later sessions copy it instead of making it."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    suffix = Path(name).suffix
    kept = cache.mkdir(f"test-{Path(name).stem}") / f"{inputs}{suffix}" if cache else None

    def fill(folder: Path) -> None:
        target = folder / name
        if kept is not None and kept.is_file():
            shutil.copyfile(kept, target)
            return
        make(target)
        if kept is not None:
            for old in kept.parent.glob(f"*{suffix}"):
                old.unlink(missing_ok=True)
            partial = kept.with_name(f".{kept.name}.{os.getpid()}")
            shutil.copyfile(target, partial)
            partial.replace(kept)  # whole or absent, whoever reads it

    return once_per_session(tmp_path_factory, Path(name).stem, fill) / name


def inputs_digest(files: list[Path]) -> str:
    """A digest of these files' paths and contents, with this file and the pinned packages."""
    digest = hashlib.sha256()
    for path in [*files, Path(__file__), REPO_ROOT / "requirements.lock"]:
        digest.update(str(path.relative_to(REPO_ROOT)).encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def knowledge_files() -> list[Path]:
    """The knowledge package: the plan, the lexicon and the code that builds and answers."""
    return sorted(
        p for p in (REPO_ROOT / "knowledge").rglob("*") if p.is_file() and p.suffix != ".pyc"
    )
