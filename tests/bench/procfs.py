"""Readers of Linux /proc: CPU time, resident memory, parents and listening sockets of processes.

Every reader takes the /proc root as an argument, so the tests run them on a fake tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TCP_LISTEN = "0A"


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/<pid>/stat the bench uses (times in clock ticks)."""

    ppid: int
    utime: int
    stime: int
    starttime: int

    @property
    def cpu_ticks(self) -> int:
        return self.utime + self.stime


def parse_stat(text: str) -> Stat:
    """/proc/<pid>/stat. The command name (field 2) is in parentheses and may hold spaces or
    parentheses itself, so the fields are counted after its last ')'."""
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): field n is fields[n - 3].
    return Stat(
        ppid=int(fields[1]), utime=int(fields[11]), stime=int(fields[12]), starttime=int(fields[19])
    )


def parse_rss_kb(status_text: str) -> int | None:
    """VmRSS of /proc/<pid>/status in kB (None for a kernel thread or a zombie, which have none)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def parse_listening(net_tcp_text: str) -> dict[int, int]:
    """Listening port -> socket inode, from /proc/net/tcp or /proc/net/tcp6."""
    found: dict[int, int] = {}
    for line in net_tcp_text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_LISTEN:
            continue
        port = int(fields[1].rsplit(":", 1)[1], 16)
        found.setdefault(port, int(fields[9]))
    return found


def read_stat(pid: int, proc: Path = PROC) -> Stat | None:
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return None


def rss_kb(pid: int, proc: Path = PROC) -> int | None:
    try:
        return parse_rss_kb((proc / str(pid) / "status").read_text())
    except OSError:
        return None


def cpu_seconds(pid: int, proc: Path = PROC) -> float | None:
    """User plus system CPU seconds the process has used so far (all its threads)."""
    stat = read_stat(pid, proc)
    return None if stat is None else stat.cpu_ticks / CLOCK_TICKS


def cmdline(pid: int, proc: Path = PROC) -> list[str]:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int, proc: Path = PROC) -> bool:
    """The process exists and is not a zombie."""
    try:
        text = (proc / str(pid) / "stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2 :].split()[0] != "Z"


def listening_inodes(proc: Path = PROC) -> dict[int, int]:
    """Listening TCP port -> socket inode, IPv4 and IPv6."""
    found: dict[int, int] = {}
    for name in ("tcp6", "tcp"):  # IPv4 last: it wins when both listen
        try:
            found.update(parse_listening((proc / "net" / name).read_text()))
        except OSError:
            continue
    return found


def pids_listening(ports: list[int], proc: Path = PROC) -> dict[int, int]:
    """Port -> pid of the process holding its listening socket, for the ports that listen
    (what psutil.net_connections does on Linux: socket inodes matched against every /fd)."""
    by_inode = {inode: port for port, inode in listening_inodes(proc).items() if port in ports}
    found: dict[int, int] = {}
    if not by_inode:
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in by_inode:
                found[by_inode[int(target[8:-1])]] = int(entry.name)
        if len(found) == len(by_inode):
            break
    return found


def children(pid: int, proc: Path = PROC) -> list[tuple[int, int]]:
    """(pid, start time) of the processes whose parent is `pid`; the start time tells a pid
    later reused by another process apart."""
    found = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name), proc)
            if stat is not None and stat.ppid == pid:
                found.append((int(entry.name), stat.starttime))
    return found


@dataclass(frozen=True)
class MachineTicks:
    """Clock ticks of all CPUs since boot, from the "cpu" line of /proc/stat."""

    busy: int  # user, nice, system, irq, softirq, steal
    iowait: int
    total: int


def parse_machine_ticks(stat_text: str) -> MachineTicks:
    for line in stat_text.splitlines():
        if line.startswith("cpu "):
            t = [int(v) for v in line.split()[1:9]]
            user, nice, system, idle, iowait, irq, softirq, steal = t + [0] * (8 - len(t))
            busy = user + nice + system + irq + softirq + steal
            return MachineTicks(busy, iowait, busy + idle + iowait)
    raise ValueError("no cpu line")


def machine_ticks(proc: Path = PROC) -> MachineTicks:
    return parse_machine_ticks((proc / "stat").read_text())
