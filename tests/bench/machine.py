"""A description of the machine and the code a benchmark ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

PROC = Path("/proc")


def cpu_model(cpuinfo_text: str) -> str:
    for line in cpuinfo_text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def memory_gib(meminfo_text: str) -> float | None:
    for line in meminfo_text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return None


def git_commit(repo: Path) -> str:
    """The commit, marked when the working tree has changes of its own."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} (with uncommitted changes)" if dirty else commit


def describe(repo: Path, proc: Path = PROC) -> dict[str, str | int | float | None]:
    def read(name: str) -> str:
        try:
            return (proc / name).read_text()
        except OSError:
            return ""

    memory = memory_gib(read("meminfo"))
    return {
        "cpu": cpu_model(read("cpuinfo")),
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1) if memory else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": git_commit(repo),
    }
