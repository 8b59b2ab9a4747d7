"""CSV export of the conversation log for Excel: UTF-8 with a BOM, formulas defused."""

from __future__ import annotations

import csv
import io

COLUMNS = [
    ("time", "时间"),
    ("channel", "渠道"),
    ("sender", "对话（哈希）"),
    ("message", "问题"),
    ("payload", "按钮指令"),
    ("reply_text", "回答"),
    ("intent", "意图"),
    ("confidence", "置信度"),
    ("cited", "引用条目"),
    ("kind", "回答类型"),
    ("latency_ms", "耗时（毫秒）"),
    ("handoff", "转人工"),
    ("answered", "已回答"),
    ("feedback", "反馈"),
]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    text = str(value)
    # A cell starting with = + - @ is a formula to Excel; users' words must stay words.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def turns_csv(turns: list[dict]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([label for _, label in COLUMNS])
    for turn in turns:
        writer.writerow([_cell(turn.get(name)) for name, _ in COLUMNS])
    return out.getvalue()
