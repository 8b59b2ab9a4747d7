"""The text a hotline operator reads out or sends: the entry verbatim, where it stands, who is responsible."""

from __future__ import annotations

PLAN_TITLE = "《黄石市促进残疾人就业三年行动实施方案（2022-2024年）》"


def phone_text(entry) -> str:
    where = f"第{entry.ref}条" if entry.item is not None else f"“{entry.ref}”部分"
    lines = [f"根据{PLAN_TITLE}（{entry.document}）{where}（{entry.title}）：", entry.text.strip()]
    if entry.departments:
        lines.append("责任部门：" + "、".join(entry.departments) + "。")
    return "\n".join(lines)
