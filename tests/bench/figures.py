"""The figures of a run, each with the issue's target where it sets one."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench import replies
from tests.bench.coldstart import ColdStart
from tests.bench.growth import Growth
from tests.bench.load import Results, Run
from tests.bench.paths import PATHS, PathResults
from tests.bench.report import Figure, at_least, at_most, info
from tests.bench.stats import ratio, summary

CHAT_OVER_PARSE_P50 = 2.5
CHAT_P95_MS = 40.0
RATE_AT_16 = 60.0
P95_AT_16_MS = 400.0
BURST_SHARE_OF_16 = 0.8
BURST_MAX_S = 3.0
CALM_P95_S = 1.0
GROWTH_RATIO = 1.5
MEMORY_ONE_RASA_GB = 1.6
MEMORY_MORE_RASA_GB = 2.4
COLD_START_S = 15.0
TRAINING_S = 120.0
FROM_CACHE = "not measured (model came from the cache)"


def read_training(path: Path) -> dict | None:
    """models/training.json ({"seconds", "inputs", "finished"}), None when absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (
        data if isinstance(data, dict) and isinstance(data.get("seconds"), (int, float)) else None
    )


def path_figures(paths: PathResults) -> list[Figure]:
    section = f"latency by path ({paths.rounds} rounds × {paths.questions} questions)"
    s = {p: summary(paths.ms[p]) for p in PATHS}
    out = []
    for p in PATHS:
        for q in ("p50", "p95", "p99"):
            if p == "chat" and q == "p95":
                out.append(at_most(section, "chat p95", s[p][q], CHAT_P95_MS, "ms"))
            else:
                out.append(info(section, f"{p} {q}", s[p][q], "ms"))
    failed = sum(paths.errors.values())
    by_path = ", ".join(f"{p} {n}" for p, n in paths.errors.items() if n)
    out.append(info(section, "requests without an answer", failed, "", by_path))
    out.append(
        at_most(
            section,
            "chat p50 / parse p50",
            ratio(s["chat"]["p50"], s["parse"]["p50"]),
            CHAT_OVER_PARSE_P50,
            "x",
        )
    )
    out.append(
        info(section, "webhook p50 / parse p50", ratio(s["webhook"]["p50"], s["parse"]["p50"]), "x")
    )
    out.append(
        info(section, "chat p50 / webhook p50", ratio(s["chat"]["p50"], s["webhook"]["p50"]), "x")
    )
    return out


def errors_of(run: Run) -> int:
    return run.count(replies.ERROR, replies.TIMEOUT)


def fallbacks_of(run: Run) -> int:
    return run.count(*replies.FALLBACKS)


def level_figures(load: Results) -> list[Figure]:
    section = "conversations at once (4 turns each, then a new sender)"
    out = []
    for run in load.levels:
        n, lat = run.people, run.latency()
        if n == 16:
            out.append(at_least(section, f"{n}: answered/s", run.rate, RATE_AT_16, "msg/s"))
            out.append(info(section, f"{n}: p50", lat["p50"], "ms"))
            out.append(at_most(section, f"{n}: p95", lat["p95"], P95_AT_16_MS, "ms"))
            out.append(at_most(section, f"{n}: errors", errors_of(run), 0, "", target="0"))
        else:
            out.append(info(section, f"{n}: answered/s", run.rate, "msg/s"))
            out.append(info(section, f"{n}: p50", lat["p50"], "ms"))
            out.append(info(section, f"{n}: p95", lat["p95"], "ms"))
            out.append(info(section, f"{n}: errors", errors_of(run), ""))
        out.append(info(section, f"{n}: fallback replies", fallbacks_of(run), ""))
    return out


def cpu_figures(
    per_message: dict[str, float], rasa_labels: list[str], cores: dict[str, float]
) -> list[Figure]:
    section = "CPU ms per answered message (16 conversations)"
    rasa = [per_message[label] for label in rasa_labels if label in per_message]
    out = [info(section, "rasa, all processes", sum(rasa) if rasa else None, "ms")]
    if len(rasa) > 1:
        out += [info(section, label, per_message.get(label), "ms") for label in rasa_labels]
    out += [
        info(section, label, value, "ms")
        for label, value in per_message.items()
        if label not in rasa_labels
    ]
    section = "cores busy on average (16 conversations)"
    out += [info(section, label, value, "cores") for label, value in cores.items()]
    return out


def crowd_figures(load: Results) -> list[Figure]:
    burst, calm = load.burst, load.calm
    at16 = load.level(16)
    floor = at16.rate * BURST_SHARE_OF_16 if at16 else None
    section = f"{burst.people} people without a pause ({burst.seconds:.0f} s)"
    target = f"≥ {floor:.1f} msg/s (80% of 16)" if floor is not None else ""
    worst = burst.latency()["max"]
    out = [
        at_least(section, "answered/s", burst.rate, floor, "msg/s", target=target),
        info(section, "busy replies", burst.count(replies.BUSY), ""),
        info(section, "unavailable replies", burst.count(replies.UNAVAILABLE), ""),
        info(section, "errors", errors_of(burst), ""),
        info(section, "p95", burst.latency()["p95"], "ms"),
        at_most(section, "slowest reply", worst / 1000 if worst else None, BURST_MAX_S, "s"),
        info(section, "load generator's worst loop lag", burst.loop_lag_ms, "ms"),
    ]
    section = (
        f"{calm.people} people, ~{calm.think_mean:.0f} s between questions ({calm.seconds:.0f} s)"
    )
    p95 = calm.latency()["p95"]
    out += [
        info(section, "answered/s", calm.rate, "msg/s"),
        at_most(section, "fallback replies", fallbacks_of(calm), 0, "", target="0"),
        info(section, "errors", errors_of(calm), ""),
        at_most(section, "p95", p95 / 1000 if p95 else None, CALM_P95_S, "s"),
    ]
    return out


def growth_figures(growth: Growth) -> list[Figure]:
    section = f"a conversation of {growth.turns} turns"
    long_mean = sum(growth.long_ms) / len(growth.long_ms) if growth.long_ms else None
    fresh_mean = sum(growth.fresh_ms) / len(growth.fresh_ms) if growth.fresh_ms else None
    first, last = growth.turns - len(growth.long_ms) + 1, growth.turns
    return [
        info(section, f"mean of turns {first}–{last}", long_mean, "ms"),
        info(section, "same questions as turn 1", fresh_mean, "ms"),
        at_most(section, "ratio", growth.ratio, GROWTH_RATIO, "x"),
        info(section, "requests without an answer", growth.failures, ""),
    ]


def memory_figures(rss: dict[str, float], rasa_count: int) -> list[Figure]:
    section = "resident memory after the load runs"
    out = [info(section, label, mb, "MB") for label, mb in rss.items()]
    total = sum(mb for label, mb in rss.items() if label != "launcher") / 1000
    limit = MEMORY_ONE_RASA_GB if rasa_count <= 1 else MEMORY_MORE_RASA_GB
    out.append(
        at_most(
            section,
            "total, launcher excluded",
            total,
            limit,
            "GB",
            target=f"≤ {limit} GB ({rasa_count} Rasa process{'es' if rasa_count > 1 else ''})",
        )
    )
    return out


def startup_figures(cold: ColdStart | None, training: dict | None) -> list[Figure]:
    section = "start-up"
    if cold is None:
        cold_figure = at_most(
            section,
            "cold start to first answer",
            None,
            COLD_START_S,
            "s",
            note="skipped (--skip-cold-start)",
        )
    else:
        cold_figure = at_most(
            section,
            "cold start to first answer",
            cold.seconds,
            COLD_START_S,
            "s",
            note="" if cold.error is None else "failed: see results/bench.json",
        )
    seconds = float(training["seconds"]) if training else None
    training_figure = at_most(
        section, "training the model", seconds, TRAINING_S, "s", note="" if training else FROM_CACHE
    )
    return [cold_figure, training_figure]
