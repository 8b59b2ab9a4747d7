"""Latency benchmark of a running gateway: `python -m tests.benchmark --url http://127.0.0.1:8000 --n 50`.

Posts a fixed list of questions to /api/chat (cycling through it) one after another and prints
p50/p95/max latency and how many answers were hand-offs. A script, not a timed unit test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import httpx

QUESTIONS = [
    "我是盲人，想考医疗按摩的证，去哪报名？",
    "残疾人开小卖部卖烟，办烟草证有什么照顾？",
    "残疾大学生毕业了找工作有什么政策？",
    "公益性岗位补贴是怎么回事？",
    "农村的残疾人怎么就业？",
    "就业辅导员是干什么的？",
    "市卫健委在这个方案里管什么？",
    "这个方案是什么时候发的？",
    "三年要新增多少残疾人就业？",
    "我要找人工",
    "还有别的吗",
    "谁负责",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def run(url: str, n: int, timeout: float) -> int:
    latencies: list[float] = []
    handoffs = errors = 0
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout, trust_env=False) as client:
        for i in range(n):
            question = QUESTIONS[i % len(QUESTIONS)]
            started = time.perf_counter()
            try:
                response = client.post(
                    "/api/chat",
                    json={"sender": f"benchmark-{i // len(QUESTIONS)}", "message": question},
                )
                response.raise_for_status()
                handoffs += bool(response.json().get("handoff"))
            except (httpx.HTTPError, ValueError) as exc:
                errors += 1
                print(f"request {i + 1} failed: {type(exc).__name__}", file=sys.stderr)
                continue
            latencies.append(time.perf_counter() - started)
    if not latencies:
        print("no request succeeded")
        return 1
    ms = [1000 * s for s in latencies]
    print(f"requests: {n}  errors: {errors}  hand-offs: {handoffs}")
    print(
        f"p50: {percentile(ms, 0.50):.0f} ms  p95: {percentile(ms, 0.95):.0f} ms  "
        f"max: {max(ms):.0f} ms  mean: {statistics.fmean(ms):.0f} ms"
    )
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmark", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="gateway base URL")
    parser.add_argument("--n", type=int, default=50, help="number of requests")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    args = parser.parse_args(argv)
    return run(args.url, args.n, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
