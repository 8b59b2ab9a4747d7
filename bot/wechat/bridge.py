"""The bridge's per-app state and the path of one message: dedupe, answer, reply in time or late."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.api.rate_limit import RateLimit, admit, too_fast_text
from bot.wechat.answering import answer_message
from bot.wechat.config import WeChatConfig
from bot.wechat.dedupe import Deduper
from bot.wechat.delivery import CustomerService, DeliveryFailed
from bot.wechat.phone_text import Outcome, PhoneAnswer
from bot.wechat.protocol import ReplayGuard, message_key
from bot.wechat.sessions import Sessions

log = logging.getLogger(__name__)

# WeChat waits 5 s; answer within this or say `success` and deliver later.
REPLY_BUDGET_SECONDS = 4.5
# Per WeChat user, as RATE_LIMIT_PER_MINUTE per conversation on /api/chat.
RATE_LIMIT_PER_MINUTE = 20


class WeChatBridge:
    def __init__(
        self, reply_budget: float = REPLY_BUDGET_SECONDS, per_minute: int = RATE_LIMIT_PER_MINUTE
    ):
        self.reply_budget = reply_budget
        self.limit = RateLimit(per_minute)
        self.sessions = Sessions()
        self.deduper = Deduper()
        self.replay = ReplayGuard()
        self._customer_services: dict[tuple[str, str, str], CustomerService] = {}
        self._background: set[asyncio.Task] = set()

    def customer_service(self, config: WeChatConfig) -> CustomerService | None:
        """One token holder per account; None when no AppID/secret is configured."""
        if not config.customer_service_ready:
            return None
        key = (config.api_base, config.app_id, config.app_secret)
        if key not in self._customer_services:
            self._customer_services[key] = CustomerService(
                api_base=config.api_base, app_id=config.app_id, app_secret=config.app_secret
            )
        return self._customer_services[key]

    async def receive(
        self, message, *, config: WeChatConfig, chat_service, arrived: float
    ) -> str | None:
        """The text of the passive reply, or None for `success` (nothing now, or delivered later)."""
        openid = message.source or ""
        conversation_id = config.conversation_id(openid)
        job, _new = self.deduper.start(
            message_key(message),
            # Called once per message key: WeChat's retries of a message are not counted again.
            work=lambda: self._answer_unless_too_fast(
                message, conversation_id, chat_service, config
            ),
            on_unclaimed=lambda outcome: self._deliver_late(
                outcome, conversation_id, openid, config
            ),
        )
        outcome = await self.deduper.wait(job, arrived + self.reply_budget - time.monotonic())
        if outcome is None or outcome.answer is None:
            return None
        return self.shown_text(conversation_id, outcome)

    async def _answer_unless_too_fast(
        self, message, conversation_id: str, chat_service, config: WeChatConfig
    ) -> Outcome:
        wait = admit([(self.limit, conversation_id)]) if _counted(message) else 0
        if wait:
            # A reply, never an HTTP error (WeChat would retry it); shown as is, so the last
            # answer's numbered choices and 更多 still work once the user waits.
            return Outcome(PhoneAnswer(too_fast_text(wait)), is_page=True)
        return await answer_message(
            message,
            conversation_id=conversation_id,
            chat_service=chat_service,
            sessions=self.sessions,
            knowledge_db=config.knowledge_db,
            retention_days=config.retention_days,
        )

    def shown_text(self, conversation_id: str, outcome: Outcome) -> str:
        if outcome.is_page:
            return outcome.answer.text
        return self.sessions.shown(conversation_id, outcome.answer)

    def _deliver_late(
        self, outcome: Outcome, conversation_id: str, openid: str, config: WeChatConfig
    ) -> None:
        if outcome.answer is None:
            return
        task = asyncio.ensure_future(self._send_or_keep(outcome, conversation_id, openid, config))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_or_keep(
        self, outcome: Outcome, conversation_id: str, openid: str, config: WeChatConfig
    ) -> None:
        service = self.customer_service(config)
        if service is None:
            self.sessions.keep_pending(conversation_id, outcome)
            return
        text = self.shown_text(conversation_id, outcome)
        try:
            await service.send_text(openid, text)
        except DeliveryFailed as error:
            # e.g. the user has not written for 48 hours: keep it for their next message.
            log.warning("late WeChat answer kept for the next message: %s", error)
            self.sessions.keep_pending(conversation_id, Outcome(PhoneAnswer(text), is_page=True))

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait for the answers still being worked out and the late deliveries they start
        (tests; the gateway's shutdown, with a timeout). True when all are done; False when
        `timeout` ran out first, and then what is left is logged, never dropped silently."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            await asyncio.sleep(0)  # let finished answers hand over to late delivery first
            pending = self.deduper.running() | self._background
            if not pending:
                return True
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                log.warning(
                    "shutting down with %d WeChat answer(s) not yet delivered", len(pending)
                )
                return False
            await asyncio.wait(pending, timeout=left)


def _counted(message) -> bool:
    """What the user sends counts; events do not (following, unfollowing, location reports),
    except a menu click, which asks a question as a message does."""
    if message.type != "event":
        return True
    return (getattr(message, "event", "") or "").lower() == "click"
