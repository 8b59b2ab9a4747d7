"""Figures with their targets: the table on the terminal, results/bench.json and
docs/benchmarks.md."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

PASS, MISS, INFO, NOT_MEASURED = "PASS", "MISS", "-", "not measured"


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    value: float | None
    unit: str  # ms, s, x, msg/s, MB, GB, cores, or "" for a count
    target: str = ""  # "≤ 40 ms"; empty for a figure reported without a target
    passed: bool | None = None
    note: str = ""  # shown in place of a missing value, or beside one

    @property
    def status(self) -> str:
        if not self.target:
            return INFO
        if self.value is None or self.passed is None:
            return NOT_MEASURED
        return PASS if self.passed else MISS

    @property
    def shown(self) -> str:
        if self.value is None:
            return self.note or "not measured"
        text = fmt(self.value, self.unit)
        return f"{text} ({self.note})" if self.note else text

    def as_dict(self) -> dict:
        return asdict(self) | {"status": self.status}


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"
    if unit == "x":
        return f"{value:.2f}×"
    if unit == "GB":
        return f"{value:.2f} GB"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit in ("s", "msg/s"):
        return f"{value:.1f} {unit}"
    if unit == "cores":
        return f"{value:.2f} cores"
    return f"{value:.0f}"


def info(section: str, name: str, value: float | None, unit: str, note: str = "") -> Figure:
    return Figure(section, name, value, unit, note=note)


def at_most(
    section: str,
    name: str,
    value: float | None,
    limit: float,
    unit: str,
    target: str = "",
    note: str = "",
) -> Figure:
    passed = None if value is None else value <= limit
    return Figure(section, name, value, unit, target or f"≤ {fmt(limit, unit)}", passed, note)


def at_least(
    section: str,
    name: str,
    value: float | None,
    limit: float | None,
    unit: str,
    target: str = "",
    note: str = "",
) -> Figure:
    passed = None if value is None or limit is None else value >= limit
    shown = fmt(limit, unit) if limit is not None else "?"
    return Figure(section, name, value, unit, target or f"≥ {shown}", passed, note)


def rows(figures: list[Figure]) -> list[tuple[str, str, str, str] | str]:
    """Table rows, with the section's name (a str) before each section's figures."""
    out: list[tuple[str, str, str, str] | str] = []
    section = None
    for f in figures:
        if f.section != section:
            section = f.section
            out.append(section)
        out.append((f.name, f.shown, f.target or "-", f.status))
    return out


def table(figures: list[Figure]) -> str:
    header = ("figure", "value", "target", "")
    body = [r for r in rows(figures) if isinstance(r, tuple)]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    for r in rows(figures):
        out.append(f"[{r}]" if isinstance(r, str) else line(r))
    misses = sum(f.status == MISS for f in figures)
    passes = sum(f.status == PASS for f in figures)
    out.append(f"\ntargets: {passes} PASS, {misses} MISS")
    return "\n".join(out)


def markdown_table(figures: list[Figure]) -> str:
    out = ["| figure | value | target | |", "|---|---|---|---|"]
    for r in rows(figures):
        if isinstance(r, str):
            out.append(f"| **{r}** | | | |")
        else:
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def write_json(path: Path, figures: list[Figure], meta: dict, details: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = meta | {"figures": [f.as_dict() for f in figures], "details": details}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


DOC_HEADER = """# Benchmarks

Written by `make bench` (`python -m tests.bench`, see `tests/bench/`); rewritten by every run,
so do not edit it by hand. The raw figures are in `results/bench.json`.

The bench measures a stack of the gateway, Rasa and the action server on this machine, over
loopback only, and reports each figure with its target. It is a measurement, not a test: a
missed target is reported, not failed.
"""

DOC_DEFINITIONS = """## What the figures mean

- **Latency by path**: each question once down each path per round, the paths' order turning
  with every question: the in-process floor (`knowledge.answering.respond` on Rasa's parse, in
  the bench's own process), Rasa's `/model/parse`, Rasa's REST webhook and the gateway's
  `/api/chat` (a new sender per question on the last two). One round first as a warm-up, not
  counted. Percentiles are nearest-rank: values that were really observed.
- **Answered**: a reply that is neither the "busy" nor the "unavailable" text
  (`bot.chat.service.BUSY_TEXT`, `UNAVAILABLE_TEXT`), nor an HTTP error or a timeout (10 s).
  Rates count answered messages only, over the time from the first question to the last reply.
  Latencies of the load runs cover every request, whatever its outcome.
- **Conversations at once**: each conversation sends 4 questions back to back, then a new
  sender takes its place. Each simulated person has an httpx client of their own with one
  connection: one client shared by 100 connections stalls the load generator itself
  (encode/httpx#3215). The generator's worst event-loop lag is reported: a reply that came in
  meanwhile waited that long to be timed.
- **CPU per message**: user plus system time from `/proc/<pid>/stat` over the 16-conversation
  run, divided by the messages answered in it. The load generator (this bench) shares the
  machine's cores, so its own CPU is shown too.
- **Turn 200**: one conversation of 200 turns; the mean of turns 191–200 over the mean of the
  same 10 questions each sent as turn 1 of a new conversation, the two interleaved.
- **Memory**: VmRSS of every stack process after the load runs; the launcher is shown but is not
  part of the target.
- **Cold start**: a second stack on spare loopback ports, from spawning `python -m bot run` to
  its first real answer on `/api/chat`, measured before the load runs.
- **Training**: `models/training.json`, written by `make` when it trains the model.
"""


def write_markdown(path: Path, figures: list[Figure], meta: dict) -> None:
    machine = meta["machine"]
    lines = [
        DOC_HEADER,
        f"## Last run: {meta['date']}",
        "",
        (
            f"- machine: {machine['cpu']}, {machine['cores']} cores, "
            f"{machine['memory_gib']} GiB memory, Linux {machine['kernel']}"
        ),
        f"- Python {machine['python']}, commit {machine['commit']}",
        f"- options: {meta['options']}",
        f"- stack: {meta['stack']}",
        (
            f"- load average (1 min) when the bench began: {meta['load_average_at_start']}; "
            f"the bench took {meta['seconds']:.0f} s"
        ),
        "",
        markdown_table(figures),
        "",
        DOC_DEFINITIONS,
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
