"""Checks on the held-out question set (tests/eval/questions.yml); fast, no model needed."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = Path(__file__).with_name("questions.yml")
PLAN = ROOT / "knowledge" / "sources" / "hs-2022-60.md"
NLU_DIR = ROOT / "data" / "nlu"

ITEMS = [str(n) for n in range(1, 23)]
SAFEGUARDS = ["三（一）", "三（二）", "三（三）", "三（四）"]
TARGETS = ["target-2500", "target-rural-1500", "target-training-1500"]
PLAIN_KEYS = ["document", "out_of_scope", "handoff", "clarify"]

MIN_TOTAL = 200
MIN_PER_ITEM = 6
MIN_PER_SAFEGUARD = 3
MINIMUMS = {
    "targets": 8,
    "document": 8,
    "departments": 15,
    "out_of_scope": 20,
    "handoff": 6,
    "clarify": 4,
}
MIN_DISTINCT_DEPARTMENTS = 10
MIN_TRAINING_EXAMPLES = 500

# Characters that only occur in traditional writing; about 10% of the set is written that way.
TRADITIONAL = set(
    "殘業補貼區麼證請嗎這們個為會與從來說對機關農幫發務輔導職稅師陽園崗體權覽選擇轉領頭點醫療養雞魚"
)


def normalise(text: str) -> str:
    """Strip whitespace and punctuation/symbols, lower-case."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text).lower()
        if not ch.isspace() and unicodedata.category(ch)[0] not in "PS"
    )


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("questions"), list)
    return data["questions"]


@pytest.fixture(scope="module")
def plan_departments() -> set[str]:
    text = PLAN.read_text(encoding="utf-8")
    lists = re.findall(r"\[责任部门：(.*?)\]", text, flags=re.DOTALL)
    assert len(lists) == 22, f"expected 22 [责任部门：…] lists in the plan, found {len(lists)}"
    names = set()
    for block in lists:
        names.update(split_names(re.sub(r"\s+", "", block)))
    return names


def split_names(block: str) -> list[str]:
    """Split a department list on 、 but not inside brackets: 各县（市、区）人民政府 stays whole."""
    names, current, depth = [], "", 0
    for ch in block:
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth -= 1
        if ch == "、" and depth == 0:
            names.append(current)
            current = ""
        else:
            current += ch
    names.append(current)
    return [n for n in names if n]


def group_of(expect: str) -> str:
    if expect in ITEMS:
        return "items"
    if expect in SAFEGUARDS:
        return "safeguards"
    if expect in TARGETS:
        return "targets"
    if expect.startswith("department:"):
        return "departments"
    return expect


def test_shape(questions):
    assert len(questions) >= MIN_TOTAL
    for i, entry in enumerate(questions):
        assert isinstance(entry, dict) and set(entry) == {"q", "expect"}, (i, entry)
        assert isinstance(entry["q"], str) and entry["q"].strip(), (i, entry)
        assert isinstance(entry["expect"], str), (i, entry)


def test_expect_values_valid(questions, plan_departments):
    valid = set(ITEMS) | set(SAFEGUARDS) | set(TARGETS) | set(PLAIN_KEYS)
    bad = []
    for entry in questions:
        expect = entry["expect"]
        if expect.startswith("department:"):
            if expect.split(":", 1)[1] not in plan_departments:
                bad.append(entry)
        elif expect not in valid:
            bad.append(entry)
    assert not bad, bad


def test_plan_departments_parsed(plan_departments):
    # sanity: the parser joins names split across page breaks (item 11) and finds the common ones
    assert {
        "市残联",
        "市人社局",
        "市卫健委",
        "市烟草专卖局",
        "各县（市、区）人民政府",
    } <= plan_departments
    assert all("\n" not in n and " " not in n for n in plan_departments)


def test_group_minimums(questions):
    groups = Counter(group_of(e["expect"]) for e in questions)
    for group, minimum in MINIMUMS.items():
        assert groups[group] >= minimum, (group, groups[group], minimum)


def test_every_item_covered(questions):
    counts = Counter(e["expect"] for e in questions)
    short = {item: counts[item] for item in ITEMS if counts[item] < MIN_PER_ITEM}
    assert not short, f"items with fewer than {MIN_PER_ITEM} questions: {short}"


def test_every_safeguard_and_target_covered(questions):
    counts = Counter(e["expect"] for e in questions)
    for key in SAFEGUARDS:
        assert counts[key] >= MIN_PER_SAFEGUARD, (key, counts[key])
    for key in TARGETS:
        assert counts[key] >= 1, key
    rewards = [
        e["q"] for e in questions if e["expect"] == "三（二）" and re.search("[奖獎]", e["q"])
    ]
    assert rewards, "三（二） needs questions about rewards for employers over the quota"


def test_departments_spread(questions):
    names = {e["expect"] for e in questions if e["expect"].startswith("department:")}
    assert len(names) >= MIN_DISTINCT_DEPARTMENTS, names


def test_some_traditional(questions):
    traditional = [e["q"] for e in questions if TRADITIONAL & set(e["q"])]
    assert len(traditional) >= len(questions) // 20, len(traditional)


def test_no_duplicates(questions):
    counts = Counter(normalise(e["q"]) for e in questions)
    dupes = [q for q, n in counts.items() if n > 1]
    assert not dupes, dupes


# ---- no overlap with the training data -------------------------------------------------

ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def training_examples() -> list[str]:
    examples = []
    for path in sorted(NLU_DIR.rglob("*.yml")) + sorted(NLU_DIR.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            text = block.get("examples") if isinstance(block, dict) else None
            if not isinstance(text, str):
                continue
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append(ANNOTATION.sub(r"\1", line[2:]).strip())
    return examples


def test_strip_annotations():
    assert ANNOTATION.sub(r"\1", "[卫健委](department)管什么") == "卫健委管什么"
    assert ANNOTATION.sub(r"\1", '[忙人]{"entity": "group", "value": "盲人"}按摩') == "忙人按摩"


def test_training_data_present():
    examples = training_examples()
    assert len(examples) >= MIN_TRAINING_EXAMPLES, (
        f"data/nlu has {len(examples)} examples; the overlap check is only meaningful "
        f"with at least {MIN_TRAINING_EXAMPLES}"
    )


def test_no_overlap_with_training_data(questions):
    trained = {normalise(x) for x in training_examples()}
    overlap = [e["q"] for e in questions if normalise(e["q"]) in trained]
    assert not overlap, f"held-out questions found in data/nlu: {overlap}"
