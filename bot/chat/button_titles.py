"""What a button press looked like to the user: the title of the button whose payload was sent.

Channels send a button's payload (`/ask_responsible`, `/ask_item{"entry":…}`) as the message; the
conversation log, the console, the CSV and /api/history show the button's title instead, found
among the buttons of the conversation's previous answer. The web page also offers "查看原文" under
each source of an answer, with the source's `detail` payload (knowledge/payloads.py `full_text`,
given by the chat API); those presses are shown as "查看原文：<ref>", as on the page.
"""

from __future__ import annotations

from knowledge import payloads

DETAIL_TITLE = "查看原文"


def detail_payload(source: dict) -> str | None:
    """The payload of a source's "查看原文" button, from its kind and key as logged."""
    return payloads.full_text(source.get("kind"), source.get("key"))


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
