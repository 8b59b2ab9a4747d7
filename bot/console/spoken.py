"""The text a hotline operator reads out or sends: the entry verbatim, where it stands, who is responsible."""

from __future__ import annotations

from knowledge.wording import readable_ref


def spoken_ref(entry) -> str:
    """Where the entry stands, as read aloud: 二（二）第2条, 三（二）, 第一部分."""
    return readable_ref(entry.ref or "", kind=entry.kind, aloud=True)


def phone_text(entry, plan_title: str) -> str:
    """`plan_title`: the plan's own title from the knowledge base (`kb.document().title`)."""
    lines = [
        f"根据《{plan_title}》（{entry.document}）{spoken_ref(entry)}（{entry.title}）：",
        entry.text.strip(),
    ]
    if entry.departments:
        lines.append("责任部门：" + "、".join(entry.departments) + "。")
    return "\n".join(lines)
