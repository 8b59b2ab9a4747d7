"""Fit the answer decision and score the assistant (docs/design.md, "The evaluation").

    python -m tests.eval fit      # fit models/decision.json on the development set
    python -m tests.eval          # report on the frozen test set (make eval)
    python -m tests.eval compare  # a retrain's scores (bot/cli/retrain.py): see cmd_compare

Questions are parsed with the trained model in process (rasa.core.agent); parses are cached
under build/parses/ by model and question file. The report gives the accuracy by kind and by
style, the keyword baseline (BM25) computed in the same run, and an ablation: the decision
refitted on the development set with intent features only, with retrieval features only, and
with both. It exits 1 below PASS_MARK overall, or when the assistant beats the baseline on
policy questions by less than MARGIN.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import os
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from knowledge.answering.question import WORDS_RANKING
from knowledge.situation import reply as situation_reply
from tests.eval import sets
from tests.eval.baseline import BM25

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "assistant.tar.gz"
DECISION = ROOT / "models" / "decision.json"
# EVAL_PARSES_DIR moves the parse cache (a retrain's tests keep theirs out of build/).
PARSES = Path(os.environ.get("EVAL_PARSES_DIR") or ROOT / "build" / "parses")
RESULTS = ROOT / "results" / "eval.json"
PASS_MARK = 0.95
MARGIN = 0.10


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


POLICY_GROUPS = frozenset({"items", "safeguards", "targets"})
# Kinds of answer that really answer (quote or list what they cite); an offer of candidates
# ("您是想问…") or a question back does not count as answering an item.
ANSWER_KINDS = frozenset({"answer", "detail", "departments", "department", "more"})


def first_key_suffix(sources: list[dict]) -> str | None:
    return sources[0]["key"].rpartition("#")[2] if sources else None


def judge(expect: str | list[str], answer) -> tuple[bool, str]:
    """Whether `answer` (knowledge.answering.Answer) meets `expect` (one label or several
    acceptable ones), and what it gave."""
    if isinstance(expect, list):
        results = [judge(e, answer) for e in expect]
        return any(ok for ok, _ in results), results[0][1]
    first = first_key_suffix(answer.sources)
    got = first or answer.kind
    if expect == "out_of_scope":
        return answer.kind == "out_of_scope" and not answer.sources, answer.kind
    if expect == "handoff":
        return answer.handoff and not answer.sources, f"{answer.kind} handoff={answer.handoff}"
    if expect == "clarify":
        return answer.kind == "clarify" and bool(answer.buttons) and not answer.sources, got
    if expect == "smalltalk":
        return answer.kind == "smalltalk" and not answer.sources, got
    if expect == "overview":
        # The situation check is the personal form of the overview: both offer the whole plan.
        broad = answer.kind in ("overview", "situation_start")
        return broad and bool(answer.buttons) and not answer.sources, got
    real = answer.kind in ANSWER_KINDS
    if not real:
        got = f"{got} ({answer.kind})"
    if expect.startswith("department:"):
        name = expect.partition(":")[2]
        deps = answer.sources[0]["departments"] if answer.sources else []
        return real and name in deps, f"{got} {'、'.join(deps)}"
    # An item, safeguard, target or the document: a real answer citing it first.
    return real and first == expect, got


# --- parsing with the trained model ---------------------------------------------------------


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def parse(questions: list[dict], model: Path, name: str) -> list[dict]:
    """What the model makes of each question: {text, ranking, entities}; cached."""
    texts = [str(q["q"]) for q in questions]
    key = _digest(model.read_bytes(), json.dumps(texts, ensure_ascii=False).encode())
    cache = PARSES / f"{name}-{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    parsed = _loop().run_until_complete(_parse_all(texts, model))
    PARSES.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(parsed, ensure_ascii=False), encoding="utf-8")
    return parsed


# One event loop and one loaded agent per model for the whole run: `compare` parses several
# question files with two models, and loading a model takes seconds.
_AGENTS: dict[Path, object] = {}


@functools.lru_cache(maxsize=1)
def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.new_event_loop()


async def _parse_all(texts: list[str], model: Path) -> list[dict]:
    import logging

    from rasa.core.agent import load_agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # Rasa logs every parse at debug level; the report is what matters here.
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    if model not in _AGENTS:
        _AGENTS[model] = await load_agent(model_path=str(model))
    agent = _AGENTS[model]
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        out.append(
            {
                "text": text,
                "ranking": [
                    {"name": r["name"], "confidence": float(r["confidence"])}
                    for r in parsed.get("intent_ranking") or []
                ],
                "words_ranking": [
                    {"name": r["name"], "confidence": float(r["confidence"])}
                    for r in parsed.get(WORDS_RANKING) or []
                ],
                "intent": parsed.get("intent") or {},
                "entities": [
                    {"entity": e["entity"], "value": e["value"]}
                    for e in parsed.get("entities") or []
                ],
            }
        )
    return out


# --- fitting --------------------------------------------------------------------------------


def examples(questions: list[dict], parsed: list[dict]):
    from knowledge.answering.fitting import Example

    return [
        Example(
            str(q["q"]),
            sets.expectations(q),
            p["ranking"] or [p["intent"]],
            p["entities"],
            p.get("words_ranking"),
        )
        for q, p in zip(questions, parsed)
    ]


def fit_decision(model: Path, keep=None, grid=None, extra: list[Path] = (), strengths=None):
    """The decision fitted on the development set, plus `extra` question files (the questions
    staff labelled in the review loop, bot/console/reviewed.py)."""
    from knowledge.answering.fitting import C_GRID, everything, fit
    from knowledge.answering.remembered import remembered_labels
    from knowledge.store import open_kb

    questions, parsed = sets.dev(), parse(sets.dev(), model, "dev")
    for path in extra:
        more = sets.load(path)
        questions, parsed = questions + more, parsed + parse(more, model, path.stem)
    files = [*sets.DEV_FILES, *extra]
    inputs = _digest(model.read_bytes(), *(p.read_bytes() for p in files))
    decision = fit(
        open_kb(),
        examples(questions, parsed),
        inputs=inputs,
        keep=keep or everything,
        grid=grid or C_GRID,
        strengths=strengths,
    )
    # Staff's labels are also answered word for word (knowledge/answering/remembered.py).
    remembered = remembered_labels([q for path in extra for q in sets.load(path)])
    return replace(
        decision, remembered=remembered, report={**decision.report, "remembered": len(remembered)}
    )


def cmd_fit(args) -> int:
    grid = tuple(args.c_grid) if args.c_grid else None
    decision = fit_decision(args.model, grid=grid, extra=_existing(args.fit_extra))
    args.decision.parent.mkdir(parents=True, exist_ok=True)
    args.decision.write_text(decision.to_json(), encoding="utf-8")
    r = decision.report
    print(
        f"decision fitted on {r['examples']} development questions: cross-validated accuracy "
        f"{r['cv_accuracy']:.3f} (C route {r['c_route']}, C entry {r['c_entry']}) -> {args.decision}"
    )
    return 0


# --- the report -----------------------------------------------------------------------------


def evaluate(questions: list[dict], parsed: list[dict], decision) -> list[Outcome]:
    from knowledge.answering import respond

    outcomes = []
    for item, p in zip(questions, parsed):
        intent = p["intent"] or {}
        answer = respond(
            text=p["text"],
            intent=intent.get("name"),
            confidence=intent.get("confidence"),
            entities=p["entities"],
            ranking=p["ranking"],
            words_ranking=p.get("words_ranking"),
            decision=decision,
        )
        if intent.get("name") in situation_reply.CHECK_INTENTS and situation_reply.starts_check(
            answer
        ):
            # Rasa's rule starts the situation check for this intent (data/rules.yml); its form
            # goes on with it when the decision reads the words as broad (actions/situation.py).
            answer = situation_reply.start()
        expect = sets.expectations(item)
        ok, got = judge(expect if len(expect) > 1 else expect[0], answer)
        outcomes.append(
            Outcome(
                p["text"],
                "|".join(expect),
                got,
                ok,
                intent.get("name"),
                round(float(intent.get("confidence") or 0.0), 3),
                answer.kind,
            )
        )
    return outcomes


def _share(outcomes: list) -> str:
    right = sum(o.ok for o in outcomes)
    return f"{right / len(outcomes):.3f} ({right}/{len(outcomes)})" if outcomes else "-"


def baseline(questions: list[dict]) -> list[bool]:
    """For each policy question: whether BM25's top entry is an acceptable one."""
    from knowledge.store import open_kb

    kb = open_kb()
    docs = {
        e.key.rpartition("#")[2]: f"{e.title}。{e.text}"
        for e in kb.entries()
        if e.kind in ("item", "safeguard", "target")
    }
    bm25 = BM25(docs)
    return [bm25.top(str(q["q"])) in sets.expectations(q) for q in questions]


def is_policy(item: dict) -> bool:
    return all(group_of(e) in POLICY_GROUPS for e in sets.expectations(item))


def cmd_report(args) -> int:
    from knowledge.answering.decision import open_decision

    name = args.set
    if len(args.questions) == 1:
        # One question file, e.g. a development file the decision was not yet fitted on.
        name, questions = args.questions[0].stem, sets.load(args.questions[0])
    elif args.questions:
        raise SystemExit("report: give at most one --questions file")
    else:
        questions = sets.test() if args.set == "test" else sets.dev()
    parsed = parse(questions, args.model, name)
    full = evaluate(questions, parsed, open_decision(args.decision))
    total = sum(o.ok for o in full) / len(full)
    policy = [i for i, q in enumerate(questions) if is_policy(q)]

    print(f"{name} set: {len(full)} questions")
    print(f"overall: {_share(full)}")
    groups: dict[str, list[Outcome]] = defaultdict(list)
    styles: dict[str, list[Outcome]] = defaultdict(list)
    for o, q in zip(full, questions):
        groups[group_of(sets.expectations(q)[0])].append(o)
        styles[sets.style(o.q)].append(o)
    print("by kind:")
    for name, members in sorted(groups.items()):
        print(f"  {name:<14} {_share(members)}")
    print("by style:")
    for name, members in sorted(styles.items()):
        print(f"  {name:<14} {_share(members)}")

    base = baseline([questions[i] for i in policy])
    ours = [full[i].ok for i in policy]
    base_share = sum(base) / len(base) if base else 0.0
    ours_share = sum(ours) / len(ours) if ours else 0.0
    print(
        f"policy questions ({len(policy)}): assistant {ours_share:.3f}, "
        f"keyword baseline (BM25, top entry) {base_share:.3f}, margin {ours_share - base_share:+.3f}"
    )

    ablation = {}
    if not args.no_ablation:
        print("ablation (decision refitted on the development set with these inputs):")
        # Intent: what was read from the words as a whole (DIET's ranking, the words classifier's
        # second opinion, the development text model); retrieval: the ranker, coverage and cues.
        nlu = ("intent:", "words:", "text:")
        variants = {
            "intent only": lambda n: n.startswith(nlu),
            "retrieval only": lambda n: not n.startswith(nlu),
        }
        for name, keep in variants.items():
            outcomes = evaluate(questions, parsed, fit_decision(args.model, keep))
            ablation[name] = sum(o.ok for o in outcomes) / len(outcomes)
            pol = [outcomes[i] for i in policy]
            print(f"  {name:<15} overall {_share(outcomes)}, policy {_share(pol)}")
        ablation["both"] = total
        print(f"  {'both':<15} overall {_share(full)}, policy {_share([full[i] for i in policy])}")

    misses = [o for o in full if not o.ok]
    if misses and args.misses:
        print("misses (question | expected | got | intent confidence):")
        for o in misses:
            print(f"  {o.q} | {o.expect} | {o.got} | {o.intent} {o.confidence:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "overall": total,
                "pass_mark": args.pass_mark,
                "policy": ours_share,
                "baseline_policy": base_share,
                "ablation": ablation,
                "count": len(full),
                "results": [asdict(o) for o in full],
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    failed = []
    if total < args.pass_mark:
        failed.append(f"overall {total:.3f} < {args.pass_mark}")
    if ours_share - base_share < args.margin:
        failed.append(f"margin over the baseline {ours_share - base_share:+.3f} < {args.margin}")
    if failed:
        print("FAIL: " + "; ".join(failed))
        return 1
    print("PASS")
    return 0


# --- a retrain's comparison (bot/cli/retrain.py) ------------------------------------------------


def score(path: Path, model: Path, decision) -> dict:
    """How many questions of a question file the model and decision answer as labelled."""
    questions = sets.load(path)
    if not questions:
        return {"right": 0, "count": 0, "results": []}
    outcomes = evaluate(questions, parse(questions, model, path.stem), decision)
    return {
        "right": sum(o.ok for o in outcomes),
        "count": len(outcomes),
        "results": [asdict(o) for o in outcomes],
    }


def _existing(paths: list[Path]) -> list[Path]:
    """The --fit-extra files that exist and hold questions (an empty export adds nothing)."""
    return [p for p in paths if p.is_file() and sets.load(p)]


def cmd_compare(args) -> int:
    """Fit the candidate's decision on the development set with the candidate model's parses,
    then score the current and the candidate model (each with its decision) on every
    --questions file, in one process (Rasa and TensorFlow load once). Writes JSON to --out:
    {"fit": the decision's report, "current": {file stem: score}, "candidate": {…}}."""
    from knowledge.answering.decision import open_decision

    grid = tuple(args.c_grid) if args.c_grid else None
    strengths = tuple(args.strengths) if args.strengths else None
    decision = fit_decision(
        args.candidate, grid=grid, extra=_existing(args.fit_extra), strengths=strengths
    )
    args.candidate_decision.parent.mkdir(parents=True, exist_ok=True)
    args.candidate_decision.write_text(decision.to_json(), encoding="utf-8")
    current = open_decision(args.decision)
    out = {"fit": decision.report, "current": {}, "candidate": {}}
    for path in args.questions:
        out["current"][path.stem] = score(path, args.model, current)
        out["candidate"][path.stem] = score(path, args.candidate, decision)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.eval", description=__doc__)
    parser.add_argument(
        "command", nargs="?", choices=["report", "fit", "compare"], default="report"
    )
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--decision", type=Path, default=DECISION)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--set", choices=["test", "dev"], default="test", help="dev: in-sample, for development"
    )
    parser.add_argument(
        "--pass-mark", type=float, default=PASS_MARK, help="fail below this share overall"
    )
    parser.add_argument(
        "--margin", type=float, default=MARGIN, help="fail below this margin over the baseline"
    )
    parser.add_argument("--no-ablation", action="store_true", help="skip the two refits")
    parser.add_argument("--misses", action="store_true", help="list the questions missed")
    parser.add_argument("--candidate", type=Path, help="compare: the candidate model")
    parser.add_argument(
        "--candidate-decision", type=Path, help="compare: where to write its fitted decision"
    )
    parser.add_argument(
        "--questions",
        type=Path,
        action="append",
        default=[],
        help="compare: a question file; report: score this file instead of --set",
    )
    parser.add_argument(
        "--strengths",
        type=float,
        nargs=2,
        metavar=("ROUTE_C", "ENTRY_C"),
        help="compare: refit with these regularisation strengths instead of choosing them",
    )
    parser.add_argument(
        "--fit-extra",
        type=Path,
        action="append",
        default=[],
        help="fit, compare: more labelled questions to fit the decision on (question-set format)",
    )
    parser.add_argument(
        "--c-grid",
        type=float,
        nargs="+",
        help="fit, compare: regularisation strengths to try (default: the whole grid)",
    )
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"no trained model at {args.model}; run `make setup` first", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.command == "compare":
        if not (args.candidate and args.candidate_decision and args.questions):
            parser.error("compare needs --candidate, --candidate-decision and --questions")
        return cmd_compare(args)
    return cmd_fit(args) if args.command == "fit" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
