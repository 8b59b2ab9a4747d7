"""Score the assistant on the held-out questions (docs/design.md, "The held-out evaluation").

Parses every question of tests/eval/questions.yml with the trained model in process
(rasa.core.agent), passes intent, confidence and entities to knowledge.answering.respond,
and checks the answer against `expect`. Prints the overall share, the share per group and
the misses; writes results/eval.json; exits 1 below the pass mark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = Path(__file__).with_name("questions.yml")
MODEL = ROOT / "models" / "assistant.tar.gz"
RESULTS = ROOT / "results" / "eval.json"
PASS_MARK = 0.95


@dataclass
class Outcome:
    q: str
    expect: str
    got: str
    ok: bool
    intent: str | None
    confidence: float
    kind: str


def group_of(expect: str) -> str:
    """The reporting group of an expectation: items, safeguards, targets, departments, …"""
    if expect.isdigit():
        return "items"
    if expect.startswith("三（"):
        return "safeguards"
    if expect.startswith("target-"):
        return "targets"
    if expect.startswith("department:"):
        return "departments"
    return expect


# Kinds of answer that really answer (quote or list what they cite); an offer of candidates
# ("您是想问…") or a question back does not count as answering an item.
ANSWER_KINDS = frozenset({"answer", "detail", "departments", "department", "more"})


def first_key_suffix(sources: list[dict]) -> str | None:
    return sources[0]["key"].rpartition("#")[2] if sources else None


def judge(expect: str, answer) -> tuple[bool, str]:
    """Whether `answer` (knowledge.answering.Answer) meets `expect`, and what it gave."""
    first = first_key_suffix(answer.sources)
    got = first or answer.kind
    if expect == "out_of_scope":
        return answer.kind == "out_of_scope" and not answer.sources, answer.kind
    if expect == "handoff":
        return answer.handoff and not answer.sources, f"{answer.kind} handoff={answer.handoff}"
    if expect == "clarify":
        return answer.kind == "clarify" and bool(answer.buttons) and not answer.sources, got
    real = answer.kind in ANSWER_KINDS
    if not real:
        got = f"{got} ({answer.kind})"
    if expect.startswith("department:"):
        name = expect.partition(":")[2]
        deps = answer.sources[0]["departments"] if answer.sources else []
        return real and name in deps, f"{got} {'、'.join(deps)}"
    # An item, safeguard, target or the document: a real answer citing it first.
    return real and first == expect, got


async def evaluate(questions: list[dict], model: Path) -> list[Outcome]:
    import logging

    from rasa.core.agent import load_agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from knowledge.answering import respond

    # Rasa logs every parse at debug level; the report is what matters here.
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    agent = await load_agent(model_path=str(model))
    outcomes = []
    for item in questions:
        q, expect = str(item["q"]), str(item["expect"])
        parsed = await agent.parse_message(q)
        intent = parsed.get("intent") or {}
        answer = respond(
            text=q,
            intent=intent.get("name"),
            confidence=intent.get("confidence"),
            entities=parsed.get("entities") or [],
            context=None,
        )
        ok, got = judge(expect, answer)
        outcomes.append(
            Outcome(
                q,
                expect,
                got,
                ok,
                intent.get("name"),
                round(float(intent.get("confidence") or 0.0), 3),
                answer.kind,
            )
        )
    return outcomes


def report(outcomes: list[Outcome]) -> float:
    total = sum(o.ok for o in outcomes) / len(outcomes)
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[group_of(o.expect)].append(o)
    print(f"overall: {total:.3f} ({sum(o.ok for o in outcomes)}/{len(outcomes)})")
    for name, members in sorted(groups.items()):
        right = sum(o.ok for o in members)
        print(f"  {name:<14} {right / len(members):.3f} ({right}/{len(members)})")
    misses = [o for o in outcomes if not o.ok]
    if misses:
        print("misses (question | expected | got | intent confidence):")
        for o in misses:
            print(f"  {o.q} | {o.expect} | {o.got} | {o.intent} {o.confidence:.2f}")
    return total


def main(argv: list[str] | None = None) -> int:
    import yaml

    parser = argparse.ArgumentParser(prog="python -m tests.eval", description=__doc__)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"no trained model at {args.model}; run `make setup` first", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))["questions"]
    outcomes = asyncio.run(evaluate(questions, args.model))
    total = report(outcomes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "overall": total,
                "pass_mark": PASS_MARK,
                "count": len(outcomes),
                "results": [asdict(o) for o in outcomes],
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0 if total >= PASS_MARK else 1


if __name__ == "__main__":
    sys.exit(main())
