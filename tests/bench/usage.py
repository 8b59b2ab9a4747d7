"""CPU time and resident memory of the stack's processes and of the bench itself."""

from __future__ import annotations

import os

from tests.bench import procfs
from tests.bench.stack import Stack

LOAD_GENERATOR = "load generator"
# Whole-machine CPU seconds (all processes, all cores) are kept under these keys.
MACHINE_BUSY = "machine:busy"
MACHINE_IOWAIT = "machine:iowait"


def cpu_snapshot(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each stack process (by label), by this process, and by the
    whole machine."""
    found = {p.label: procfs.cpu_seconds(p.pid) for p in stack.processes}
    mine = os.times()
    machine = procfs.machine_ticks()
    return {label: s for label, s in found.items() if s is not None} | {
        LOAD_GENERATOR: mine.user + mine.system,
        MACHINE_BUSY: machine.busy / procfs.CLOCK_TICKS,
        MACHINE_IOWAIT: machine.iowait / procfs.CLOCK_TICKS,
    }


def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds between two snapshots, by key."""
    return {key: after[key] - before[key] for key in before if key in after}


def cpu_ms_per_message(
    before: dict[str, float], after: dict[str, float], messages: int
) -> dict[str, float]:
    """CPU milliseconds per message of each process between two snapshots."""
    if messages <= 0:
        return {}
    return {
        label: seconds * 1000 / messages
        for label, seconds in used(before, after).items()
        if not label.startswith("machine:")
    }


def cores_busy(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """How many cores were busy on average between two snapshots: the stack's processes
    (the load generator left out), the whole machine, and the machine waiting on I/O."""
    if seconds <= 0:
        return {}
    spent = used(before, after)
    stack = sum(s for k, s in spent.items() if k != LOAD_GENERATOR and not k.startswith("machine:"))
    return {
        "stack processes": stack / seconds,
        "whole machine": spent.get(MACHINE_BUSY, 0.0) / seconds,
        "whole machine, waiting on I/O": spent.get(MACHINE_IOWAIT, 0.0) / seconds,
    }


def rss_mb(stack: Stack) -> dict[str, float]:
    """Resident memory (VmRSS) of each stack process in MB (10^6 bytes)."""
    found = {p.label: procfs.rss_kb(p.pid) for p in stack.processes}
    return {label: kb * 1024 / 1e6 for label, kb in found.items() if kb is not None}
