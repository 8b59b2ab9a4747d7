"""Throughput of one and of two Rasa instances on the scaled topology, in one run.

    .venv/bin/python -m tests.bench.scaled [--seconds 40] [--conversations 16]

Starts Redis and PostgreSQL of its own (scripts/local-services.sh), then for RASA_PROCESSES=1
and then 2 the launcher as `make run-scaled` starts it (Rasa's SQL tracker store in PostgreSQL
and Redis lock store, two action servers, two gateway workers), keeps 16 conversations asking
one question after another without a pause, and prints answered messages per second, p50 and
p95 of every reply, the fallbacks, and Rasa's CPU per answer, with the ratio of two to one.
Writes results/scaled.json. Ports of the topology helper's ranges (gateway 8610, Rasa 5610+,
action servers 5630+, Redis 6441, PostgreSQL 5481). Takes about 5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from bot.settings import REPO_ROOT
from tests.bench import procfs
from tests.bench.load import Plan, conversations, person_clients
from tests.bench.questions import QUESTIONS
from tests.scaled.services import make_services_dir, remove_services_dir, running_services
from tests.scaled.stack import ScaledStack, missing_inputs, running_stack

REDIS_PORT, PG_PORT = 6441, 5481
GATEWAY_PORT, RASA_PORT, ACTION_PORT = 8610, 5610, 5630
WARM_UP_SECONDS = 10
RESULTS = REPO_ROOT / "results" / "scaled.json"


def rasa_cpu(stack: ScaledStack) -> float:
    return sum(procfs.cpu_seconds(e["pid"]) or 0.0 for e in stack.processes["rasa"])


async def measure(stack: ScaledStack, people: int, seconds: float, label: str) -> dict:
    clients = person_clients(people, 10.0, stack.headers)
    chat_url = stack.base + "/api/chat"
    questions = list(QUESTIONS)
    try:
        # Every process has answered a few of each kind before the clock starts.
        await conversations(
            clients, chat_url, questions, f"{label}-warm", people, WARM_UP_SECONDS, Plan()
        )
        before = rasa_cpu(stack)
        run = await conversations(clients, chat_url, questions, label, people, seconds, Plan())
        used = rasa_cpu(stack) - before
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    figures = run.as_dict()
    figures["rasa_cpu_ms_per_answer"] = round(1000 * used / max(1, run.answered), 1)
    return figures


def one(processes: int, urls: tuple[str, str], people: int, seconds: float, work: Path) -> dict:
    print(f"RASA_PROCESSES={processes}: starting the scaled stack …", flush=True)
    started = time.monotonic()
    with running_stack(
        work / f"rasa-{processes}", *urls, GATEWAY_PORT, RASA_PORT, ACTION_PORT, processes
    ) as stack:
        print(
            f"  answering after {time.monotonic() - started:.0f} s; "
            f"{people} conversations for {seconds:.0f} s",
            flush=True,
        )
        figures = asyncio.run(measure(stack, people, seconds, f"scaled-{processes}"))
    figures["rasa_processes"] = processes
    return figures


def table(rows: list[dict]) -> str:
    lines = [
        "| Rasa instances | answered/s | p50 ms | p95 ms | busy | unavailable | errors | Rasa CPU ms/answer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        latency = row["latency_ms"]
        lines.append(
            f"| {row['rasa_processes']} | {row['answered_per_s']:.1f} | {latency['p50']:.0f} "
            f"| {latency['p95']:.0f} | {row['busy']} | {row['unavailable']} "
            f"| {row['errors'] + row['timeouts']} | {row['rasa_cpu_ms_per_answer']} |"
        )
    if len(rows) == 2 and rows[0]["answered_per_s"]:
        ratio = rows[1]["answered_per_s"] / rows[0]["answered_per_s"]
        lines.append(f"\ntwo instances / one: {ratio:.2f}×")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--conversations", type=int, default=16)
    args = parser.parse_args(argv)
    missing = missing_inputs()
    if missing:
        print(f"needs {', '.join(missing)}: run `make setup` first", file=sys.stderr)
        return 1
    folder = make_services_dir("scaled-bench-")
    rows = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="scaled-bench-work-") as work,
            running_services(folder, REDIS_PORT, PG_PORT) as urls,
        ):
            for processes in (1, 2):
                rows.append(one(processes, urls, args.conversations, args.seconds, Path(work)))
    finally:
        remove_services_dir(folder)
    print(table(rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "conversations": args.conversations,
                "seconds": args.seconds,
                "runs": rows,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
