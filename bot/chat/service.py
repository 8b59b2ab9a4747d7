"""The one answering path shared by every channel (web chat, API clients, WeChat)."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.chat.conversation_log import ConversationLog, Turn
from bot.chat.ids import RASA_SENDER, keyed_digest
from bot.chat.masking import mask
from bot.chat.plain_summaries import PlainSummaries
from bot.chat.rasa_client import RasaBusy, RasaClient, RasaUnavailable
from bot.chat.visible_text import visible_text
from knowledge import payloads
from knowledge.wording import HOTLINE, HOTLINE_NAME

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = (
    "抱歉，助手现在暂时无法回答您的问题。请稍后再试，"
    f"或拨打{HOTLINE_NAME} {HOTLINE}，由工作人员为您解答。"
)
UNAVAILABLE_KIND = "unavailable"
# Too many people at once: said within the promise, instead of making everyone wait too long.
BUSY_TEXT = f"现在很多人在问，请稍等再发一次您的问题。着急的话也可以拨打{HOTLINE_NAME} {HOTLINE}。"
BUSY_KIND = "busy"
# Every reply, real or fallback, reaches the user within this many seconds.
REPLY_PROMISE_SECONDS = 3.0
# The longest a reply waits for its log line (for the answer id), and the margin kept for
# sending the response after that wait.
LOG_WAIT_SECONDS = 0.5
RESPONSE_MARGIN_SECONDS = 0.2
# `plain`: the entry's easy-read summary (bot/chat/plain_summaries.py), null when it has none.
API_SOURCE_FIELDS = ("document", "item", "ref", "title", "departments", "plain", "key")
# What the log keeps of a message that answered the situation check (a disability, an age, a
# place): that it was an answer, never the words.
PRIVATE_MESSAGE = "（情况核对的回答，不记录原文）"


@dataclass
class ChatReply:
    """One answer. `answer_id` (None when the log line was not written in time) and `kind`
    and the sources' `kind`/`key` are for the gateway's own use; `as_api_dict` is what the
    chat API returns."""

    sender: str
    replies: list[dict]
    sources: list[dict] = field(default_factory=list)
    intent: dict | None = None
    handoff: bool = False
    answer_id: str | None = None
    kind: str | None = None
    # The message gave answers of the situation check: logged as PRIVATE_MESSAGE.
    private: bool = False

    def as_api_dict(self) -> dict:
        """Exactly the chat API's body: sender, replies, sources, intent, handoff."""
        return {
            "sender": self.sender,
            "replies": self.replies,
            "sources": [api_source(s) for s in self.sources],
            "intent": self.intent,
            "handoff": self.handoff,
        }


def api_source(source: dict) -> dict:
    """A source as the API gives it: the entry's `key`, and `detail`, the payload of its
    查看原文 button (knowledge/payloads.py), so no client rebuilds either from other fields."""
    return {name: source.get(name) for name in API_SOURCE_FIELDS} | {
        "departments": list(source.get("departments") or []),
        "detail": payloads.full_text(source.get("kind"), source.get("key")),
    }


class ChatService:
    def __init__(
        self,
        rasa: RasaClient,
        conversation_log: ConversationLog,
        secret_key: str,
        plain: PlainSummaries | None = None,
    ):
        self.rasa = rasa
        self.conversation_log = conversation_log
        self._secret_key = secret_key
        self.plain = plain
        self.log_failures = 0
        # Log writes run here, one at a time, never on the event loop: a busy database
        # must not hold up other requests (or /healthz) while SQLite waits for its lock.
        self._log_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conversation-log")

    def close(self) -> None:
        """Finish the pending log writes (each bounded by the log's busy timeout)."""
        self._log_writer.shutdown(wait=True)

    def rasa_sender(self, conversation_id: str) -> str:
        """Rasa's tracker key: derived from, but never equal to, the raw conversation id."""
        return keyed_digest(self._secret_key, RASA_SENDER, conversation_id)

    async def reply(
        self, *, conversation_id: str, channel: str, text: str, sender: str | None = None
    ) -> ChatReply:
        # Before anything else sees it: invisible characters could hide a number from mask.
        text = mask(visible_text(text))
        started = time.monotonic()
        # Rasa's answer must be back in time to log it and send it within the promise.
        deadline = started + REPLY_PROMISE_SECONDS - RESPONSE_MARGIN_SECONDS - LOG_WAIT_SECONDS
        try:
            messages = await self.rasa.send(self.rasa_sender(conversation_id), text, deadline)
            reply = merge_messages(messages, sender or conversation_id)
        except RasaBusy:
            log.warning("too many messages in line; answering that we are busy")
            reply = busy_reply(sender or conversation_id)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable (%s); answering with the hotline", exc)
            reply = None
        if reply is None:
            reply = unavailable_reply(sender or conversation_id)
        if reply.sources and self.plain is not None:
            # The knowledge base is SQLite (its first open reads it): off the event loop.
            reply.sources = await asyncio.to_thread(self.plain.add_to, reply.sources)
        latency_ms = int((time.monotonic() - started) * 1000)
        turn = Turn(
            conversation_id=conversation_id,
            channel=channel,
            message=PRIVATE_MESSAGE if reply.private else text,
            replies=reply.replies,
            sources=reply.sources,
            intent=reply.intent,
            handoff=reply.handoff,
            kind=reply.kind,
            latency_ms=latency_ms,
        )
        reply.answer_id = await self._record(turn, started)
        return reply

    async def _record(self, turn: Turn, started: float) -> str | None:
        """Write the turn in the log thread; wait for it only as long as the promise allows.

        A write still pending then goes on in the background (and may yet succeed); the reply
        just carries no answer id. Failures are counted by the writer itself.
        """
        left = REPLY_PROMISE_SECONDS - RESPONSE_MARGIN_SECONDS - (time.monotonic() - started)
        try:
            pending = asyncio.get_running_loop().run_in_executor(
                self._log_writer, self._write, turn
            )
        except RuntimeError:  # the executor was shut down: the app is stopping
            self._count_failure("RuntimeError")
            return None
        try:
            # shield: a timeout must not cancel a write that is still queued.
            return await asyncio.wait_for(
                asyncio.shield(pending), timeout=max(0.0, min(LOG_WAIT_SECONDS, left))
            )
        except asyncio.TimeoutError:
            log.warning("conversation log write still pending; answering without waiting")
            return None

    def _write(self, turn: Turn) -> str | None:
        try:
            return self.conversation_log.record(turn)
        except Exception as exc:  # noqa: BLE001 - the answer matters more than its log line
            self._count_failure(type(exc).__name__)
            return None

    def _count_failure(self, error: str) -> None:
        self.log_failures += 1
        # The exception type only: messages of some errors could quote the row.
        log.error("conversation log write failed (%s)", error)


def busy_reply(sender: str) -> ChatReply:
    """Not a failure to answer (the question was never asked of Rasa): not a hand-off, and
    not counted among the unanswered questions."""
    return ChatReply(sender=sender, replies=[{"text": BUSY_TEXT, "buttons": []}], kind=BUSY_KIND)


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
    private = False
    for message in messages:
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            replies.append({"text": text, "buttons": _buttons(message.get("buttons"))})
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("meta"), dict):
            meta = custom["meta"]
            # One turn can run several actions (the form, then its result): any of them
            # marking the message private makes it private.
            private = private or meta.get("private") is True
    if not replies:
        return None
    return ChatReply(
        sender=sender,
        replies=replies,
        sources=[s for s in meta.get("sources") or [] if isinstance(s, dict)],
        intent=_intent(meta.get("intent")),
        handoff=bool(meta.get("handoff", False)),
        kind=meta.get("kind") if isinstance(meta.get("kind"), str) else None,
        private=private,
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
