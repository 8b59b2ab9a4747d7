"""The review queue: questions hotline staff should look at, grouped, and what a verdict stores.

A question is worth a review when the assistant did not answer it, answered with low
confidence, got 👎, or the person asked again right after (bot.chat.conversation_log.REVIEW_SQL).
Wordings that differ only slightly (SequenceMatcher ratio >= SIMILAR after normalisation:
"怎么报名" / "如何报名") form one group, so one verdict covers them; the group counts the
people who asked. A verdict stores one row per wording in the conversation log (text, label,
reviewer, time; never the sender).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from difflib import SequenceMatcher
from typing import Any

from bot.chat.conversation_log import ConversationLog

# Verdicts and what each shows in the console.
VERDICTS = {
    "entry": "正确答案是方案的这一条",
    "not_covered": "方案没有涉及这个问题",
    "right": "助手答对了",
    "skip": "跳过",
}
REASONS = {
    "unanswered": "没答上",
    "low": "置信度低",
    "down": "👎 差评",
    "reasked": "马上又问了一次",
}
# Two wordings this alike are one question: 8 of 10 characters in common, in order.
SIMILAR = 0.8
QUEUE_LIMIT = 100
# Kinds of reply that cite what they answer (as tests/eval counts them).
ANSWER_KINDS = frozenset({"answer", "detail", "departments", "department", "more"})
# Replies whose kind is itself the label ("it was right" about a hand-off is "handoff").
ROUTE_KINDS = frozenset({"out_of_scope", "overview", "handoff", "clarify", "smalltalk"})


@dataclass
class Group:
    """Wordings of one question, most asked first; `turn` is the latest turn of the first."""

    key: str
    members: list[dict[str, Any]]
    turns: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def people(self) -> int:
        return sum(m["people"] for m in self.members)

    @property
    def asked(self) -> int:
        return sum(m["asked"] for m in self.members)

    @property
    def last(self) -> str:
        return max(m["last"] for m in self.members)

    @property
    def reasons(self) -> list[str]:
        return [name for name in REASONS if any(m[name] for m in self.members)]

    @property
    def turn(self) -> dict[str, Any] | None:
        return self.turns.get(self.key)

    @property
    def question(self) -> str:
        turn = self.turn
        return turn["message"] if turn else self.key

    def wordings(self) -> list[str]:
        return [
            self.turns[m["normalized"]]["message"]
            for m in self.members
            if m["normalized"] in self.turns
        ]


def similar(a: str, b: str, threshold: float = SIMILAR) -> bool:
    if a == b:
        return True
    longest, shortest = max(len(a), len(b)), min(len(a), len(b))
    if not longest or 2 * shortest / (longest + shortest) < threshold:
        return False  # the ratio cannot reach the threshold
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


def group_wordings(rows: list[dict[str, Any]], threshold: float = SIMILAR) -> list[Group]:
    """Rows of REVIEW_SQL into groups; each wording joins the first group whose first wording
    is like it, so a group is named by its most asked wording.

    Only groups sharing enough characters with a wording are compared with it (an index from
    character to group): the characters in common bound the ratio from above, and comparing
    every pair was a minute for 2,000 wordings."""
    groups: list[Group] = []
    # character -> (group, how often the group's first wording has it)
    index: dict[str, list[tuple[int, int]]] = defaultdict(list)
    # Most asked first; of equals, the shortest wording names the group.
    ordered = sorted(
        rows, key=lambda r: (-r["people"], -r["asked"], len(r["normalized"]), r["normalized"])
    )
    for row in ordered:
        key = row["normalized"]
        mine = Counter(key)
        common: Counter = Counter()
        for ch, n in mine.items():
            for i, theirs in index.get(ch, ()):
                common[i] += min(n, theirs)
        for i in sorted(common):
            if 2 * common[i] / (len(key) + len(groups[i].key)) < threshold:
                continue
            if similar(groups[i].key, key, threshold):
                groups[i].members.append(row)
                break
        else:
            for ch, n in mine.items():
                index[ch].append((len(groups), n))
            groups.append(Group(key, [row]))
    groups.sort(key=lambda g: (-g.people, -g.asked, g.key))
    return groups


def queue(log: ConversationLog, limit: int = QUEUE_LIMIT) -> list[Group]:
    """Questions to review, most people first, each with the latest turn of every wording.
    The 500 most asked wordings are grouped (about a second on two busy cores); the rest wait
    until those are reviewed."""
    groups = group_wordings(log.review_candidates())[:limit]
    keys = [m["normalized"] for g in groups for m in g.members]
    turns = log.latest_turns(keys)
    for group in groups:
        group.turns = {
            m["normalized"]: turns[m["normalized"]]
            for m in group.members
            if m["normalized"] in turns
        }
    return groups


def find(log: ConversationLog, key: str) -> Group | None:
    """The group in the queue that holds this wording, or None (reviewed meanwhile)."""
    for group in queue(log, limit=10_000):
        if any(m["normalized"] == key for m in group.members):
            return group
    return None


def what_it_did(turn: dict[str, Any] | None) -> str:
    """What the assistant did with a question, in a line."""
    if turn is None:
        return "—"
    kind = turn.get("kind") or ""
    cited = turn.get("cited") or ""
    if kind in ANSWER_KINDS and cited:
        return f"引用了 {cited} 来回答"
    return {
        "out_of_scope": "说方案没有涉及",
        "no_answer": "没找到答案",
        "handoff": "建议转人工",
        "clarify": "反问了来问的人",
        "candidates": "给了几个可能的条目让人选",
        "overview": "介绍了方案的整体",
        "smalltalk": "当作寒暄",
    }.get(kind, kind or "—")


def right_label(turn: dict[str, Any] | None) -> str | None:
    """The label "it was right" means: what the assistant answered, in tests/eval's terms."""
    if turn is None:
        return None
    kind = turn.get("kind") or ""
    sources = turn.get("sources") or []
    if kind in ANSWER_KINDS and sources and sources[0].get("key"):
        return sources[0]["key"].rpartition("#")[2]
    if kind == "handoff" or turn.get("handoff"):
        return "handoff"
    return kind if kind in ROUTE_KINDS else None


def label_of(verdict: str, entry_key: str | None, turn: dict[str, Any] | None) -> str | None:
    if verdict == "entry":
        return entry_key.rpartition("#")[2] if entry_key else None
    if verdict == "not_covered":
        return "out_of_scope"
    if verdict == "right":
        return right_label(turn)
    return None


def check_share_rule(share: float):
    """Hold back a label's n-th wording when that brings the label's held-back count to
    floor(n * share): with 0.2, the 5th, 10th, … of each label. Fewer than 1/share wordings
    of a label are all trained on."""

    def held_back(n: int) -> bool:
        return math.floor(n * share + 1e-9) > math.floor((n - 1) * share + 1e-9)

    return held_back


def record(
    log: ConversationLog,
    group: Group,
    *,
    verdict: str,
    label: str | None,
    reviewer: str,
    keep: bool,
    check_share: float,
) -> int:
    """Store the verdict for every wording of the group; how many rows were written."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rows = []
    for member in group.members:
        turn = group.turns.get(member["normalized"])
        rows.append(
            {
                "normalized": member["normalized"],
                "question": turn["message"] if turn else member["normalized"],
                "verdict": verdict,
                "label": label,
                "reviewer": reviewer,
                "time": now,
                "asked": member["last"],
                "people": member["people"],
            }
        )
    log.store_reviews(rows, keep=keep, held_back=check_share_rule(check_share))
    return len(rows)
