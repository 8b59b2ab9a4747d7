"""Answer a question from the plan, word for word, with its source and departments.

* `cues` — what the words say on their face (references, amounts, phones, places);
* `decision` — the fitted choice between answering with an entry, asking back, an overview
  and "not covered" (`fitting` fits it on the development set);
* `followups` — 那找谁 / 详细说说 / 还有别的吗 and entries named outright;
* `remembered` — the wordings staff labelled in the review loop, answered as labelled;
* `compose` — the wording of every reply;
* `respond` — the one path through them for each user turn.
"""

from knowledge.answering.compose import (
    Answer,
    Context,
    hand_off,
    knowledge_unavailable,
    no_phone_number,
    out_of_scope,
    snippet,
)
from knowledge.answering.cues import asks_for_amount, asks_for_phone, parse_reference, topics
from knowledge.answering.decision import DecisionMissing, open_decision
from knowledge.answering.respond import SMALL_TALK, respond, search

__all__ = [
    "SMALL_TALK",
    "Answer",
    "Context",
    "DecisionMissing",
    "asks_for_amount",
    "asks_for_phone",
    "hand_off",
    "knowledge_unavailable",
    "no_phone_number",
    "open_decision",
    "out_of_scope",
    "parse_reference",
    "respond",
    "search",
    "snippet",
    "topics",
]
