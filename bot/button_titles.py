"""What a button press looked like to the user: the title of the button whose payload was sent.

Channels send a button's payload (`/ask_responsible`, `/ask_item{"entry":…}`) as the message; the
conversation log, the console, the CSV and /api/history show the button's title instead, found
among the buttons of the conversation's previous answer. The web page also offers "查看原文" under
each source of an answer; its payload and title are built here exactly as webchat/app.js builds
them, so those presses are shown the same way.
"""

from __future__ import annotations

import json
import re

DETAIL_TITLE = "查看原文"
# Safeguards are cited by their ref (三（二）); items by their number; nothing else gets the button.
_SAFEGUARD_REF = re.compile(r"[一二三四五六七八九十]+（[一二三四五六七八九十]+）")


def entry_key(source: dict) -> str | None:
    """`<document>#<item>` for items, `<document>#三（二）` for safeguards, else None."""
    document, item, ref = source.get("document"), source.get("item"), source.get("ref")
    if not isinstance(document, str) or not document:
        return None
    if isinstance(item, int) and not isinstance(item, bool):
        return f"{document}#{item}"
    if isinstance(ref, str) and _SAFEGUARD_REF.fullmatch(ref):
        return f"{document}#{ref}"
    return None


def detail_payload(source: dict) -> str | None:
    """The web page's "查看原文" payload: `/ask_detail{"entry":"<key>"}` (JSON.stringify's form)."""
    key = entry_key(source)
    if key is None:
        return None
    return "/ask_detail" + json.dumps({"entry": key}, ensure_ascii=False, separators=(",", ":"))


def detail_title(source: dict) -> str:
    ref = source.get("ref")
    return f"{DETAIL_TITLE}：{ref}" if isinstance(ref, str) and ref else DETAIL_TITLE


def button_title(message: str, previous: dict | None) -> str | None:
    """The title of the button of `previous` (an answer: replies with buttons, sources) whose
    payload is `message`; None when `message` is not a payload offered there."""
    if not previous or not message.startswith("/"):
        return None
    for reply in previous.get("replies") or []:
        for button in (reply or {}).get("buttons") or []:
            if (
                isinstance(button, dict)
                and button.get("payload") == message
                and button.get("title")
            ):
                return str(button["title"])
    for source in previous.get("sources") or []:
        if isinstance(source, dict) and detail_payload(source) == message:
            return detail_title(source)
    return None
