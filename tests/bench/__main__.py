"""Benchmark of the whole stack: latency, throughput, CPU, memory, start-up (`make bench`).

`python -m tests.bench` measures latency by path, throughput, CPU and memory per process,
100 people at once, a 200-turn conversation, cold start and training time.

Uses the stack at --url when one answers there; otherwise starts one with `python -m bot run`
and stops it at the end. Prints one table of figures and targets, writes results/bench.json
and rewrites docs/benchmarks.md. Exits 0 whatever the figures (a measurement, not a test) and
2 when it could not measure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from bot.settings import REPO_ROOT, Settings
from knowledge.errors import KnowledgeError
from tests.bench import coldstart, figures, growth, load, machine, paths, report, stack, usage
from tests.bench.questions import QUESTIONS
from tests.bench.stats import summary

RESULTS = REPO_ROOT / "results" / "bench.json"
DOCS = REPO_ROOT / "docs" / "benchmarks.md"
TRAINING = REPO_ROOT / "models" / "training.json"
STARTUP_SECONDS = 300  # Rasa loads in 30-60 s on two cores; more when the machine is busy
COLD_START_LIMIT_SECONDS = 240
FULL = {"rounds": 20, "plan": load.Plan()}
QUICK = {
    "rounds": 3,
    "plan": replace(load.Plan(), level_seconds=4, burst_seconds=8, calm_seconds=20),
}


def say(text: str) -> None:
    print(text, flush=True)


def loopback_url(url: str) -> str:
    """The URL without a trailing slash; argparse error unless it is http on loopback."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback:
        raise argparse.ArgumentTypeError("only http:// on loopback (127.0.0.1, localhost, ::1)")
    return url.rstrip("/")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--url",
        type=loopback_url,
        default="http://127.0.0.1:8000",
        help="the gateway; when nothing answers there, a stack is started on its port",
    )
    parser.add_argument(
        "--stack-file",
        type=Path,
        help="the launcher's stack.json (default: LOG_DIR/../run/stack.json, i.e. var/run)",
    )
    parser.add_argument("--quick", action="store_true", help="short runs, for development")
    parser.add_argument(
        "--skip-cold-start", action="store_true", help="do not start a second stack"
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the Markdown page to rewrite")
    return parser.parse_args(argv)


def bring_up(url: str, settings: Settings) -> stack.Started | None:
    """The stack at `url`: the running one (None), or one started here."""
    body = stack.health(url)
    if stack.gateway_ok(body):
        say(f"using the stack at {url}")
        return None
    if body is not None:
        raise stack.StackError(f"something answers at {url}/healthz, but not as the gateway")
    parts = urlsplit(url)
    log_path = settings.log_dir / "bench-launcher.log"
    say(f"nothing answers at {url}: starting `python -m bot run` (output in {log_path})")
    started = stack.start(
        {"GATEWAY_HOST": parts.hostname or stack.LOOPBACK, "GATEWAY_PORT": str(stack.port_of(url))},
        log_path,
    )
    try:
        stack.wait_for_gateway(url, started, STARTUP_SECONDS)
    except stack.StackError:
        stack.stop(started)
        raise
    return started


@dataclass
class Measured:
    """Everything one run measured, before it becomes figures."""

    began: float
    load_at_start: float
    plan: load.Plan
    rounds: int
    started_here: bool
    found: stack.Stack
    cold: coldstart.ColdStart | None
    by_path: paths.PathResults
    grown: growth.Growth
    loaded: load.Results
    rss_idle: dict[str, float]
    rss_after: dict[str, float]


def measure(args: argparse.Namespace, settings: Settings) -> Measured:
    began = time.monotonic()
    load_at_start = os.getloadavg()[0]  # the machine is shared: what else was running
    mode = QUICK if args.quick else FULL
    plan: load.Plan = mode["plan"]
    tag = f"bench-{int(time.time())}"
    questions = list(QUESTIONS)
    stack_file = args.stack_file or settings.log_dir.parent / "run" / "stack.json"

    cold = None
    if not args.skip_cold_start:
        say("cold start: a second stack on spare ports …")
        cold = coldstart.measure(settings, COLD_START_LIMIT_SECONDS)
        say(f"  {cold.seconds:.1f} s" if cold.seconds is not None else f"  failed: {cold.error}")

    started = bring_up(args.url, settings)
    try:
        stack.wait_for_answer(args.url, f"{tag}-ready", STARTUP_SECONDS)
        if started is not None:
            # The launcher names its processes (and Rasa's API token) once all are warm.
            stack.wait_for_file(stack_file, STARTUP_SECONDS)
        found = stack.discover(args.url, stack_file, settings)
        say(
            f"stack found by {found.found_by}: "
            + ", ".join(f"{p.label} {p.pid}" for p in found.processes)
        )
        rss_idle = usage.rss_mb(found)

        with httpx.Client(timeout=10, trust_env=False, headers=found.headers) as client:
            say(f"latency by path: {mode['rounds']} rounds of {len(questions)} questions …")
            try:
                parsed = paths.parse_all(client, found.rasa_urls[0], questions, found.rasa_token)
            except httpx.HTTPError as exc:
                raise stack.StackError(f"Rasa's /model/parse failed: {exc!r}") from exc
            by_path = paths.run(
                paths.Paths(client, args.url, found.rasa_urls, tag, found.rasa_token),
                questions,
                parsed,
                mode["rounds"],
            )
            say("a conversation of 200 turns …")
            grown = growth.measure(client, args.url, questions, tag)

        say("load runs:")
        loaded = asyncio.run(
            load.suite(
                args.url,
                questions,
                plan,
                tag,
                lambda: usage.cpu_snapshot(found),
                say,
                headers=found.headers,
            )
        )
        rss_after = usage.rss_mb(found)
    finally:
        if started is not None:
            say("stopping the stack started for the bench …")
            stack.stop(started)
    return Measured(
        began,
        load_at_start,
        plan,
        mode["rounds"],
        started is not None,
        found,
        cold,
        by_path,
        grown,
        loaded,
        rss_idle,
        rss_after,
    )


def publish(args: argparse.Namespace, m: Measured) -> None:
    """The table on the terminal, the JSON and the Markdown page."""
    at16 = m.loaded.level(m.plan.cpu_level)
    before, after = m.loaded.cpu_before, m.loaded.cpu_after
    per_message = usage.cpu_ms_per_message(before, after, at16.answered if at16 else 0)
    cores = usage.cores_busy(before, after, at16.seconds if at16 else 0)
    rasa_labels = [p.label for p in m.found.of("rasa")]
    training = figures.read_training(TRAINING)
    table = (
        figures.path_figures(m.by_path)
        + figures.level_figures(m.loaded)
        + figures.cpu_figures(per_message, rasa_labels, cores)
        + figures.crowd_figures(m.loaded)
        + figures.growth_figures(m.grown)
        + figures.memory_figures(m.rss_after, len(rasa_labels))
        + figures.startup_figures(m.cold, training)
    )
    say("")
    say(report.table(table))

    meta = {
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "machine": machine.describe(REPO_ROOT),
        "options": ("--quick " if args.quick else "")
        + ("--skip-cold-start " if args.skip_cold_start else "")
        + f"--url {args.url}",
        "stack": ("started by the bench" if m.started_here else "already running")
        + f", processes found by {m.found.found_by}, {len(rasa_labels)} Rasa process(es)",
        "seconds": round(time.monotonic() - m.began, 1),
        "load_average_at_start": round(m.load_at_start, 2),
    }
    runs = [*m.loaded.levels, m.loaded.burst, m.loaded.calm]
    details = {
        "paths": {p: summary(m.by_path.ms[p]) for p in paths.PATHS} | {"errors": m.by_path.errors},
        "runs": [r.as_dict() for r in runs],
        "cpu_ms_per_message": per_message,
        "cores_busy_at_16": cores,
        "rss_mb": {"idle": m.rss_idle, "after_load": m.rss_after},
        "growth": asdict(m.grown) | {"ratio": m.grown.ratio},
        "cold_start": asdict(m.cold) if m.cold else None,
        "training": training,
        "processes": [asdict(p) for p in m.found.processes],
        "plan": asdict(m.plan) | {"rounds": m.rounds},
    }
    report.write_json(args.json, table, meta, details)
    report.write_markdown(args.docs, table, meta)
    say(f"\nwritten: {args.json}, {args.docs} ({meta['seconds']:.0f} s in all)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"bench could not run: the settings are wrong:\n{exc}", file=sys.stderr)
        return 2
    try:
        measured = measure(args, settings)
    except (stack.StackError, KnowledgeError) as exc:
        print(f"bench could not run: {exc}", file=sys.stderr)
        return 2
    publish(args, measured)
    return 0


if __name__ == "__main__":
    sys.exit(main())
