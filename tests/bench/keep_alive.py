"""The keep-alive race, measured: requests broken because the server closed an idle connection
in the instant they arrived on it, for two server keep-alive timeouts in one run.

    .venv/bin/python -m tests.bench.keep_alive [--people 200] [--rounds 8]

Starts uvicorn (two workers, as the scaled gateway) on a trivial app on 127.0.0.1:8777, keeps
both cores busy as Rasa does under load, and lets each person send a request, read for about
5 s (uvicorn's default timeout, where the race is) and send again on the same connection. The
client keeps idle connections 5 s, as httpx does by default. Takes about 2 minutes.
Why GATEWAY_KEEP_ALIVE_SECONDS is 75 (bot/settings.py).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx

PORT = 8777
APP = "tests.bench.keep_alive:app"


async def app(scope, receive, send):  # a plain ASGI app: the race is uvicorn's, not ours
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def server(keep_alive: int):
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", APP, "--port", str(PORT), "--workers", "2",
         "--timeout-keep-alive", str(keep_alive), "--ws", "none", "--no-access-log",
         "--log-level", "warning"],
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/", trust_env=False)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def busy_cores(count: int = 2):
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


async def people(count: int, rounds: int) -> collections.Counter:
    outcomes: collections.Counter = collections.Counter()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=5.0)

    async def person(k: int) -> None:
        rng = random.Random(k)
        async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
            for _ in range(rounds):
                await asyncio.sleep(rng.uniform(4.97, 5.03))
                try:
                    response = await client.post(f"http://127.0.0.1:{PORT}/", json={})
                    outcomes[str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    outcomes[type(exc).__name__] += 1

    await asyncio.gather(*(person(k) for k in range(count)))
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    for keep_alive in (5, 75):
        with server(keep_alive), busy_cores():
            outcomes = asyncio.run(people(args.people, args.rounds))
        broken = sum(n for kind, n in outcomes.items() if kind != "200")
        print(f"server keep-alive {keep_alive:>2} s: {broken} of {sum(outcomes.values())} "
              f"requests broken {dict(outcomes)}")


if __name__ == "__main__":
    main()
