"""Button payloads: Rasa intent payloads that name what they are about (docs/design.md).

`/ask_item{"entry":"黄政办发〔2022〕60号#13"}` asks for one entry, `/ask_department{"department":
"市人社局","page":"2"}` for a page of a department's entries. A button under an older answer
names its entry, so it still means that answer when pressed later.
"""

from __future__ import annotations

import json


def _payload(intent: str, slots: dict[str, str]) -> str:
    return f"/{intent}" + json.dumps(slots, ensure_ascii=False, separators=(",", ":"))


def item(key: str, topic: str | None = None) -> str:
    return _payload("ask_item", {"entry": key} if topic is None else {"entry": key, "topic": topic})


def about(intent: str, key: str) -> str:
    """A follow-up (ask_detail, ask_responsible) about one entry."""
    return _payload(intent, {"entry": key})


def full_text(kind: str | None, key: str | None) -> str | None:
    """The payload that asks for an entry's full text (its 查看原文 button): items and safeguards
    only; targets and the document's facts are quoted whole where they are cited."""
    if kind in ("item", "safeguard") and key:
        return about("ask_detail", key)
    return None


def department(name: str, page: int) -> str:
    return _payload("ask_department", {"department": name, "page": str(page)})
