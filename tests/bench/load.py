"""Many conversations at once against /api/chat: throughput by concurrency and the two
100-people runs (without a pause, and with think time between questions).

Each simulated person holds a conversation of a few turns, one question after another, and
then a new person (a new sender) takes their place, until the run's time is up.

Each person has an httpx.AsyncClient of their own with one connection, as a phone or a browser
would; no proxies from the environment. One client shared by 100 connections stalls the load
generator itself: httpcore's pool re-checks every connection under a lock whenever it hands one
out (encode/httpx#3215). Measured here with 100 people for 10 s: the shared client waited up
to 7.9 s for replies that curl, sent at the same time, got in 0.1 s; with a client per person
the generator's event loop was never more than 67 ms late and curl saw what the bench saw.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.bench import replies
from tests.bench.stats import summary

SETTLE_SECONDS = 30
SETTLE_PROMPT_MS = 1000


@dataclass(frozen=True)
class Sample:
    ms: float
    outcome: str  # replies.ANSWER, BUSY, UNAVAILABLE, ERROR or TIMEOUT


@dataclass
class Run:
    label: str
    people: int
    seconds: float  # from the first question to the last reply
    samples: list[Sample]
    think_mean: float | None = None
    loop_lag_ms: float = 0.0  # the generator's own worst delay: its latencies are this honest

    def count(self, *outcomes: str) -> int:
        return sum(s.outcome in outcomes for s in self.samples)

    @property
    def answered(self) -> int:
        return self.count(replies.ANSWER)

    @property
    def rate(self) -> float:
        """Real answers per second (fallback replies and errors do not count)."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def latency(self) -> dict:
        """Every request, whatever its outcome: what the people waited."""
        return summary([s.ms for s in self.samples])

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "people": self.people,
            "think_mean_s": self.think_mean,
            "seconds": round(self.seconds, 2),
            "requests": len(self.samples),
            "answered": self.answered,
            "answered_per_s": round(self.rate, 2),
            "busy": self.count(replies.BUSY),
            "unavailable": self.count(replies.UNAVAILABLE),
            "errors": self.count(replies.ERROR),
            "timeouts": self.count(replies.TIMEOUT),
            "latency_ms": self.latency(),
            "load_generator_loop_lag_ms": round(self.loop_lag_ms, 1),
        }


@dataclass(frozen=True)
class Plan:
    levels: tuple[int, ...] = (1, 4, 16, 32)
    level_seconds: float = 20.0
    cpu_level: int = 16  # the run whose CPU per message is measured
    burst_people: int = 100
    burst_seconds: float = 45.0
    calm_people: int = 100
    calm_seconds: float = 120.0
    think_mean: float = 8.0
    turns: int = 4
    timeout: float = 10.0  # well past the gateway's 3 s promise, so a late reply is seen
    seed: int = 20240601


@dataclass
class Results:
    levels: list[Run]
    burst: Run
    calm: Run
    cpu_before: dict[str, float] = field(default_factory=dict)
    cpu_after: dict[str, float] = field(default_factory=dict)

    def level(self, people: int) -> Run | None:
        return next((r for r in self.levels if r.people == people), None)


async def ask(client: httpx.AsyncClient, url: str, sender: str, text: str) -> Sample:
    started = time.perf_counter()
    try:
        response = await client.post(url, json={"sender": sender, "message": text})
        outcome = replies.classify(response.status_code, response.json())
    except httpx.TimeoutException:
        outcome = replies.TIMEOUT
    except (httpx.HTTPError, ValueError):
        outcome = replies.ERROR
    return Sample((time.perf_counter() - started) * 1000, outcome)


async def loop_lag(stop: asyncio.Event, every: float = 0.05) -> float:
    """The longest this process's event loop was late waking a sleeper, in ms: a reply that
    came in meanwhile waited that long to be timed."""
    worst = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(every)
        worst = max(worst, time.perf_counter() - started - every)
    return worst * 1000


async def pause(seconds: float, deadline: float) -> None:
    await asyncio.sleep(max(0.0, min(seconds, deadline - time.perf_counter())))


def person_clients(
    count: int, timeout: float, headers: dict[str, str] | None = None
) -> list[httpx.AsyncClient]:
    """One client with one connection per person; one TLS context for all (never used on
    http://, but each client would otherwise load the certificate store)."""
    tls = ssl.create_default_context()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return [
        httpx.AsyncClient(
            limits=limits, timeout=timeout, trust_env=False, verify=tls, headers=headers
        )
        for _ in range(count)
    ]


async def conversations(
    clients: list[httpx.AsyncClient],
    chat_url: str,
    questions: list[str],
    label: str,
    people: int,
    seconds: float,
    plan: Plan,
    think_mean: float | None = None,
) -> Run:
    """`people` people at once for `seconds`, person k on clients[k]; with `think_mean`, each
    waits an exponential time of that mean before every question (the first included, so
    arrivals spread out)."""
    samples: list[Sample] = []
    began = time.perf_counter()
    deadline = began + seconds

    async def person(k: int) -> None:
        rng = random.Random(plan.seed * 1000 + k)
        asked = k  # everyone starts at a different question
        conversation = 0
        while time.perf_counter() < deadline:
            sender = f"{label}-{k}-{conversation}"
            conversation += 1
            for _ in range(plan.turns):
                if think_mean:
                    await pause(rng.expovariate(1 / think_mean), deadline)
                if time.perf_counter() >= deadline:
                    return
                text = questions[asked % len(questions)]
                asked += 1
                samples.append(await ask(clients[k], chat_url, sender, text))

    stop = asyncio.Event()
    lag = asyncio.create_task(loop_lag(stop))
    await asyncio.gather(*(person(k) for k in range(people)))
    elapsed = time.perf_counter() - began
    stop.set()
    return Run(label, people, elapsed, samples, think_mean, await lag)


async def settle(client: httpx.AsyncClient, chat_url: str, tag: str) -> None:
    """Until one question is answered promptly again (at most SETTLE_SECONDS): after an
    overload Rasa may still be working off requests the gateway gave up on."""
    deadline = time.perf_counter() + SETTLE_SECONDS
    probe = 0
    while time.perf_counter() < deadline:
        probe += 1
        sample = await ask(client, chat_url, f"{tag}-settle-{probe}", "你好")
        if sample.outcome == replies.ANSWER and sample.ms < SETTLE_PROMPT_MS:
            return
        await asyncio.sleep(1)


async def suite(
    gateway_url: str,
    questions: list[str],
    plan: Plan,
    tag: str,
    cpu_probe: Callable[[], dict[str, float]],
    say: Callable[[str], None] = print,
    headers: dict[str, str] | None = None,
) -> Results:
    chat_url = gateway_url + "/api/chat"
    people = max(*plan.levels, plan.burst_people, plan.calm_people)
    clients = person_clients(people, plan.timeout, headers)
    try:
        levels = []
        cpu_before: dict[str, float] = {}
        cpu_after: dict[str, float] = {}
        for n in plan.levels:
            say(f"  {n} conversation(s) at once for {plan.level_seconds:.0f} s")
            if n == plan.cpu_level:
                cpu_before = cpu_probe()
            run = await conversations(
                clients, chat_url, questions, f"{tag}-c{n}", n, plan.level_seconds, plan
            )
            if n == plan.cpu_level:
                cpu_after = cpu_probe()
            levels.append(run)
            await settle(clients[0], chat_url, tag)
        say(f"  {plan.burst_people} people without a pause for {plan.burst_seconds:.0f} s")
        burst = await conversations(
            clients,
            chat_url,
            questions,
            f"{tag}-burst",
            plan.burst_people,
            plan.burst_seconds,
            plan,
        )
        await settle(clients[0], chat_url, tag)
        say(
            f"  {plan.calm_people} people, about {plan.think_mean:.0f} s between questions, "
            f"for {plan.calm_seconds:.0f} s"
        )
        calm = await conversations(
            clients,
            chat_url,
            questions,
            f"{tag}-calm",
            plan.calm_people,
            plan.calm_seconds,
            plan,
            think_mean=plan.think_mean,
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return Results(levels, burst, calm, cpu_before, cpu_after)
