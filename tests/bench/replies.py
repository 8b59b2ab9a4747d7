"""What a user got from /api/chat: an answer, the "busy" reply, the "unavailable" reply, or an
HTTP error or timeout."""

from __future__ import annotations

from bot.chat import service as chat_service

UNAVAILABLE_TEXT: str = chat_service.UNAVAILABLE_TEXT
# The "busy" reply is new in the gateway; an older gateway has none.
BUSY_TEXT: str | None = getattr(chat_service, "BUSY_TEXT", None)

ANSWER = "answer"
BUSY = "busy"
UNAVAILABLE = "unavailable"
ERROR = "error"  # an HTTP error status, a broken connection or a body that is not a reply
TIMEOUT = "timeout"
FALLBACKS = (BUSY, UNAVAILABLE)


def first_text(body: object) -> str | None:
    if not isinstance(body, dict):
        return None
    replies = body.get("replies")
    if not isinstance(replies, list) or not replies or not isinstance(replies[0], dict):
        return None
    text = replies[0].get("text")
    return text if isinstance(text, str) else None


def classify(
    status: int,
    body: object,
    busy_text: str | None = BUSY_TEXT,
    unavailable_text: str = UNAVAILABLE_TEXT,
) -> str:
    """The outcome of one chat request. The fallback texts are recognised whatever the status
    (a gateway may send "busy" with 503): the user reads them all the same."""
    text = first_text(body)
    if text is not None and text == unavailable_text:
        return UNAVAILABLE
    if text is not None and busy_text is not None and text == busy_text:
        return BUSY
    if 200 <= status < 300 and text is not None:
        return ANSWER
    return ERROR
