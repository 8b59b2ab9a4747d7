"""The one answering path shared by every channel (web chat, API clients, WeChat)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import asdict, dataclass, field

from bot.conversation_log import ConversationLog, Turn
from bot.masking import mask
from bot.rasa_client import RasaClient, RasaUnavailable
from knowledge.wording import HOTLINE, HOTLINE_NAME

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = (
    "抱歉，助手现在暂时无法回答您的问题。请稍后再试，"
    f"或拨打{HOTLINE_NAME} {HOTLINE}，由工作人员为您解答。"
)
UNAVAILABLE_KIND = "unavailable"


@dataclass
class ChatReply:
    sender: str
    replies: list[dict]
    sources: list[dict] = field(default_factory=list)
    intent: dict | None = None
    handoff: bool = False
    answer_id: str | None = None
    kind: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class ChatService:
    def __init__(self, rasa: RasaClient, conversation_log: ConversationLog, secret_key: str):
        self.rasa = rasa
        self.conversation_log = conversation_log
        self._secret_key = secret_key
        self.log_failures = 0

    def rasa_sender(self, conversation_id: str) -> str:
        """Rasa's tracker key: derived from, but never equal to, the raw conversation id."""
        return hmac.new(
            self._secret_key.encode(), b"rasa:" + conversation_id.encode(), hashlib.sha256
        ).hexdigest()[:32]

    async def reply(
        self, *, conversation_id: str, channel: str, text: str, sender: str | None = None
    ) -> ChatReply:
        text = mask(text)  # before anything else sees it
        started = time.monotonic()
        try:
            messages = await self.rasa.send(self.rasa_sender(conversation_id), text)
            reply = merge_messages(messages, sender or conversation_id)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable (%s); answering with the hotline", exc)
            reply = None
        if reply is None:
            reply = unavailable_reply(sender or conversation_id)
        latency_ms = int((time.monotonic() - started) * 1000)
        reply.answer_id = self._record(conversation_id, channel, text, reply, latency_ms)
        return reply

    def _record(
        self, conversation_id: str, channel: str, text: str, reply: ChatReply, latency_ms: int
    ) -> str | None:
        try:
            return self.conversation_log.record(
                Turn(
                    conversation_id=conversation_id,
                    channel=channel,
                    message=text,
                    replies=reply.replies,
                    sources=reply.sources,
                    intent=reply.intent,
                    handoff=reply.handoff,
                    kind=reply.kind,
                    latency_ms=latency_ms,
                )
            )
        except Exception as exc:  # noqa: BLE001 - the answer matters more than its log line
            self.log_failures += 1
            # The exception type only: messages of some errors could quote the row.
            log.error("conversation log write failed (%s)", type(exc).__name__)
            return None


def unavailable_reply(sender: str) -> ChatReply:
    return ChatReply(
        sender=sender,
        replies=[{"text": UNAVAILABLE_TEXT, "buttons": []}],
        handoff=True,
        kind=UNAVAILABLE_KIND,
    )


def merge_messages(messages: list[dict], sender: str) -> ChatReply | None:
    """Text messages become replies; the custom `meta` payload gives intent, sources, hand-off.

    None when Rasa produced no text at all (it answers 200 [] when an action fails).
    """
    replies: list[dict] = []
    meta: dict = {}
    for message in messages:
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            replies.append({"text": text, "buttons": _buttons(message.get("buttons"))})
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("meta"), dict):
            meta = custom["meta"]
    if not replies:
        return None
    return ChatReply(
        sender=sender,
        replies=replies,
        sources=[s for s in meta.get("sources") or [] if isinstance(s, dict)],
        intent=_intent(meta.get("intent")),
        handoff=bool(meta.get("handoff", False)),
        kind=meta.get("kind") if isinstance(meta.get("kind"), str) else None,
    )


def _buttons(raw) -> list[dict]:
    if not isinstance(raw, list):
        return []
    return [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in raw
        if isinstance(b, dict) and b.get("title")
    ]


def _intent(raw) -> dict | None:
    if not isinstance(raw, dict) or not raw.get("name"):
        return None
    try:
        confidence = float(raw.get("confidence"))
    except (TypeError, ValueError):
        confidence = None
    return {"name": str(raw["name"]), "confidence": confidence}
