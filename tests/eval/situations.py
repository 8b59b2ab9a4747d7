"""How well the situation check reads people's stories: `python -m tests.eval.situations [dev]`.

Reports, on the held-out stories of tests/eval/situations_test.yml (or the development stories,
situations_dev.yml), the share of facets read right (filled with the expected value), filled
wrongly (another value, or a value where the story says nothing) and missed. Report only: the
held-out stories never change the vocabulary.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from knowledge.situation.words import read, vocabulary

SETS = {name: Path(__file__).with_name(f"situations_{name}.yml") for name in ("test", "dev")}


def score(stories: list[dict]) -> dict[str, int]:
    counts = {"right": 0, "wrong": 0, "missed": 0, "stories_exact": 0}
    for story in stories:
        got = read(story["q"])
        expected = story.get("expect") or {}
        exact = True
        for facet in vocabulary().order:
            want, have = expected.get(facet), got.get(facet)
            if want is not None and have == want:
                counts["right"] += 1
            elif have is not None:
                counts["wrong"] += 1
                exact = False
            elif want is not None:
                counts["missed"] += 1
                exact = False
        counts["stories_exact"] += exact
    return counts


def main(argv: list[str] | None = None) -> int:
    name = (argv if argv is not None else sys.argv[1:] or ["test"])[0]
    stories = yaml.safe_load(SETS[name].read_text(encoding="utf-8"))
    c = score(stories)
    facets = c["right"] + c["missed"]
    print(f"{len(stories)} stories, {facets} facets said")
    print(f"read right {c['right']}/{facets} ({c['right'] / facets:.2f}), missed {c['missed']}")
    print(f"filled wrongly {c['wrong']}; stories read exactly {c['stories_exact']}/{len(stories)}")
    for story in stories:
        got, want = read(story["q"]), story.get("expect") or {}
        if got != want:
            print(f"  {story['q']}\n    expected {want}\n    read     {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
