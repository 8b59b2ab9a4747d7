"""The text a hotline operator reads out or sends: the entry verbatim, where it stands, who is responsible."""

from __future__ import annotations


def phone_text(entry, plan_title: str) -> str:
    """`plan_title`: the plan's own title from the knowledge base (`kb.document().title`)."""
    where = f"第{entry.ref}条" if entry.item is not None else f"“{entry.ref}”部分"
    lines = [
        f"根据《{plan_title}》（{entry.document}）{where}（{entry.title}）：",
        entry.text.strip(),
    ]
    if entry.departments:
        lines.append("责任部门：" + "、".join(entry.departments) + "。")
    return "\n".join(lines)
