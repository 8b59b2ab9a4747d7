"""The text a hotline operator reads out or sends: the entry verbatim, where it stands, who is responsible."""

from __future__ import annotations

import re

# "二（二）2": the action's reference, then the item's number.
_NUMBERED_REF = re.compile(r"(?P<where>.*?)(?P<number>\d+)")
_PART_REF = re.compile(r"[一二三四五六七八九十]+")


def spoken_ref(entry) -> str:
    """Where the entry stands, as read aloud: 二（二）第2条, 三（二）, 第一部分."""
    ref = (entry.ref or "").strip()
    numbered = _NUMBERED_REF.fullmatch(ref)
    if numbered:
        return f"{numbered['where']}第{numbered['number']}条"
    if entry.kind == "safeguard" or not ref:
        return ref
    if _PART_REF.fullmatch(ref):
        return f"第{ref}部分"
    return f"“{ref}”部分"


def phone_text(entry, plan_title: str) -> str:
    """`plan_title`: the plan's own title from the knowledge base (`kb.document().title`)."""
    lines = [
        f"根据《{plan_title}》（{entry.document}）{spoken_ref(entry)}（{entry.title}）：",
        entry.text.strip(),
    ]
    if entry.departments:
        lines.append("责任部门：" + "、".join(entry.departments) + "。")
    return "\n".join(lines)
