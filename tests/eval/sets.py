"""The three disjoint question sets: training (data/nlu), development, frozen test.

* training: the NLU examples in `data/nlu/` (Rasa trains on them);
* development (`dev*.yml`): fits and chooses the answer decision; never trained on;
* test (`test.yml`): frozen, only reported by `make eval`; never trained on, never used to
  choose anything.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from knowledge.yaml_files import load_yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
NLU_DIR = ROOT / "data" / "nlu"
DEV_FILES = sorted(HERE.glob("dev*.yml"))
TEST_FILE = HERE / "test.yml"
# A story: long enough to tell a situation (questions-people-ask.md: 40-140 characters).
STORY_LENGTH = 40
SHORT_LENGTH = 15


def normalise(text: str) -> str:
    """Strip whitespace and punctuation/symbols, lower-case (for the disjointness checks)."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text).lower()
        if not ch.isspace() and unicodedata.category(ch)[0] not in "PS"
    )


def expectations(item: dict) -> list[str]:
    """The acceptable labels of a question: `expect` is one label or a list of them."""
    expect = item["expect"]
    return [str(e) for e in expect] if isinstance(expect, list) else [str(expect)]


def load(path: Path) -> list[dict]:
    return load_yaml(path)["questions"]


def dev() -> list[dict]:
    return [q for path in DEV_FILES for q in load(path)]


def test() -> list[dict]:
    return load(TEST_FILE)


# Rasa's inline entity annotation: [words]{"entity": …} or [words](entity).
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def training_examples() -> list[tuple[str, str]]:
    """(intent, example text without annotations) of every NLU example in data/nlu."""
    out = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        for block in (load_yaml(path) or {}).get("nlu", []):
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    out.append((block["intent"], _ANNOTATION.sub(r"\1", line[2:])))
    return out


def style(text: str) -> str:
    """short (a search phrase), story, or question."""
    if len(text) <= SHORT_LENGTH:
        return "short"
    return "story" if len(text) >= STORY_LENGTH else "question"
