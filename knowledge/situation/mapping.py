"""Which entries concern which situations: the `applies` table of knowledge/situations.yml.

The build copies it into the knowledge base (`situations`); `applicable` reads it from there and
picks the entries for one person's answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from knowledge.situation.words import DATA, vocabulary
from knowledge.yaml_files import load_yaml

CONCERNS = "concerns"
REQUIRES = "requires"
# The value a skipped question gets (不想说): a value, so the form does not ask it again.
SKIPPED = "不想说"
# The result names at most this many entries (the "at most five").
MOST_SHOWN = 5


@dataclass(frozen=True)
class Mapping:
    entry: str  # the entry's key
    facet: str
    value: str
    role: str  # concerns / requires
    phrase: str  # the plan's words that justify the mapping


def situation_rows(documents: Iterable[str], path=DATA) -> list[dict]:
    """The rows of the knowledge base's `situations` table for these documents."""
    applies = load_yaml(path).get("applies") or {}
    rows = []
    for number in documents:
        for position, row in enumerate(applies.get(number) or []):
            rows.append(
                {
                    "entry": f"{number}#{row['entry']}",
                    "facet": str(row["facet"]),
                    "value": str(row["value"]),
                    "role": str(row["role"]),
                    "phrase": str(row["phrase"]),
                    "position": position,
                }
            )
    return rows


def applicable(mappings: list[Mapping], answers: dict[str, str | None]) -> list[Mapping]:
    """The entries that concern a person with these answers, at most MOST_SHOWN, each with
    the mapping that brought it.

    Most specific first: a situation that few entries concern comes before one many entries
    concern, and each of the person's situations gets its best entry before any gets a second
    (a blind graduate from a village hears of massage, graduates and rural work, not five
    entries about one of them). Unknown or skipped answers exclude nothing."""
    known = {facet: value for facet, value in answers.items() if _known(value)}
    excluded = {
        m.entry
        for m in mappings
        if m.role == REQUIRES and m.facet in known and known[m.facet] != m.value
    }
    groups: dict[tuple[str, str], list[Mapping]] = {}
    for m in mappings:
        if m.role == CONCERNS and known.get(m.facet) == m.value and m.entry not in excluded:
            groups.setdefault((m.facet, m.value), []).append(m)
    ordered = sorted(groups.values(), key=len)  # fewer entries: more specific
    chosen: dict[str, Mapping] = {}
    for round_ in range(max((len(g) for g in ordered), default=0)):
        for group in ordered:
            if round_ < len(group) and group[round_].entry not in chosen:
                chosen[group[round_].entry] = group[round_]
    return list(chosen.values())[:MOST_SHOWN]


def _known(value: str | None) -> bool:
    vocab = vocabulary()
    return bool(value) and value not in (SKIPPED, vocab.not_asked)
