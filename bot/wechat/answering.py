"""What to answer to one WeChat message or event (no HTTP, no XML here).

Text and recognised voice go through the same ChatService as /api/chat; "更多", "菜单", "说简单点"
and the numbers of the last choices are handled here, the number becoming the button's payload.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from pathlib import Path

from bot.api.models import MAX_MESSAGE_CHARS, TOO_LONG_MESSAGE
from bot.chat.service import UNAVAILABLE_TEXT
from bot.chat.visible_text import visible_text
from bot.settings import DEFAULT_RETENTION_DAYS
from bot.wechat.menu import (
    EMPTY_TEXT,
    MENU_WORDS,
    MORE_WORDS,
    NO_PLAIN,
    NOTHING_MORE,
    SIMPLER_WORDS,
    cannot_read,
    topic_menu,
    welcome,
)
from bot.wechat.phone_text import Outcome, PhoneAnswer, phone_answer
from bot.wechat.sessions import Sessions
from knowledge.numbers import parse_number

log = logging.getLogger(__name__)

WELCOME_EVENTS = {"subscribe", "subscribe_scan", "scan"}
# Voice recognition adds punctuation ("一。"); people type "回复 1" because the menu says so.
_COMMAND = re.compile(r"^(?:回复|选择?|我选)?\s*(.*?)[\s。.,，!！?？、~～]*$")


def command_word(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    match = _COMMAND.match(text)
    return (match.group(1) if match else text).strip().lower()


async def answer_message(
    message,
    *,
    conversation_id: str,
    chat_service,
    sessions: Sessions,
    knowledge_db: Path | None = None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> Outcome:
    outcome = await _answer(
        message, conversation_id, chat_service, sessions, knowledge_db, retention_days
    )
    if outcome.answer is None:
        return outcome
    # An answer that came too late for its own message rides along with this one.
    pending = await sessions.take_pending(conversation_id)
    if pending is None or pending.answer is None:
        return outcome
    text = f"您上一条消息的回答：\n{pending.answer.text}\n\n——————\n{outcome.answer.text}"
    choices = outcome.answer.choices or pending.answer.choices
    plain = outcome.answer.plain or pending.answer.plain
    return Outcome(PhoneAnswer(text=text, choices=choices, plain=plain))


async def _answer(
    message,
    conversation_id: str,
    chat_service,
    sessions: Sessions,
    knowledge_db: Path | None,
    retention_days: int,
) -> Outcome:
    kind = message.type
    if kind == "event":
        return await _event(message, conversation_id, chat_service, knowledge_db, retention_days)
    if kind == "text":
        text = message.content or ""
    elif kind == "voice":
        text = (message.recognition or "").strip()
        if not text:
            return Outcome(PhoneAnswer(cannot_read("voice")))
    else:
        return Outcome(PhoneAnswer(cannot_read(kind)))
    return await _answer_text(text, conversation_id, chat_service, sessions)


async def _answer_text(
    text: str, conversation_id: str, chat_service, sessions: Sessions
) -> Outcome:
    text = visible_text(text)
    if not text.strip():
        return Outcome(PhoneAnswer(EMPTY_TEXT))
    if len(text.strip()) > MAX_MESSAGE_CHARS:
        # As on the API: a very long text would keep the answering code busy for seconds.
        return Outcome(PhoneAnswer(TOO_LONG_MESSAGE))
    word = command_word(text)
    if word in MORE_WORDS:
        part = await sessions.next_part(conversation_id)
        return Outcome(PhoneAnswer(part or NOTHING_MORE), is_page=True)
    if word in MENU_WORDS:
        return Outcome(topic_menu())
    number = parse_number(word)
    choice = await sessions.choice(conversation_id, number) if number else None
    if word in SIMPLER_WORDS or (choice is not None and choice.payload in SIMPLER_WORDS):
        return await simpler(conversation_id, sessions)
    return await _ask(choice.payload if choice else text, conversation_id, chat_service)


async def simpler(conversation_id: str, sessions: Sessions) -> Outcome:
    """说简单点: the last answer's easy-read summaries. Shown like an answer that keeps them and
    has no choices of its own, so the last answer's numbered choices still work."""
    plain = await sessions.plain(conversation_id)
    if not plain:
        return Outcome(PhoneAnswer(NO_PLAIN), is_page=True)
    return Outcome(PhoneAnswer(text=plain, plain=plain))


async def _event(
    message, conversation_id: str, chat_service, knowledge_db: Path | None, retention_days: int
) -> Outcome:
    event = (getattr(message, "event", "") or "").lower()
    if event in WELCOME_EVENTS:
        # The first welcome opens the knowledge base (SQLite): not on the event loop.
        text = await asyncio.to_thread(welcome, knowledge_db, retention_days)
        return Outcome(topic_menu(text))
    if event == "click":
        key = getattr(message, "key", "") or ""
        if key.startswith("/"):  # a menu button configured with an intent payload
            return await _ask(key, conversation_id, chat_service)
        return Outcome(topic_menu())
    return Outcome(None)  # unsubscribe, location reports, views, job notices: nothing to say


async def _ask(text: str, conversation_id: str, chat_service) -> Outcome:
    try:
        reply = await chat_service.reply(
            conversation_id=conversation_id, channel="wechat", text=text
        )
    except Exception:  # ChatService promises a fallback; a WeChat user must still hear something
        log.exception("chat_service failed for a WeChat message")
        return Outcome(PhoneAnswer(UNAVAILABLE_TEXT))
    answer = phone_answer(reply)
    return Outcome(answer if answer.text.strip() else PhoneAnswer(UNAVAILABLE_TEXT))
