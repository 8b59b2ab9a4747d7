"""The bridge's per-app state and the path of one message: dedupe, answer, reply in time or late.

The state is this worker's memory by default; create_app hands in the Redis variants
(bot/wechat/shared_state.py) when REDIS_URL is set, so several workers answer as one.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.api.rate_limit import RateLimit, too_fast_text
from bot.wechat.answering import answer_message
from bot.wechat.config import WeChatConfig
from bot.wechat.dedupe import Deduper
from bot.wechat.delivery import CustomerService, DeliveryFailed
from bot.wechat.phone_text import Outcome, PhoneAnswer
from bot.wechat.protocol import ReplayGuard, message_key
from bot.wechat.sessions import Sessions
from bot.wechat.shared_state import LocalClaims

log = logging.getLogger(__name__)

# WeChat waits 5 s; answer within this or say `success` and deliver later.
REPLY_BUDGET_SECONDS = 4.5
# Per WeChat user, as RATE_LIMIT_PER_MINUTE per conversation on /api/chat.
RATE_LIMIT_PER_MINUTE = 20
# With shared claims, how long the worker that answered late waits before delivering it
# itself: a retry polling on another worker may take it as its passive reply meanwhile.
HANDOVER_GRACE_SECONDS = 0.3


class WeChatBridge:
    def __init__(
        self,
        reply_budget: float = REPLY_BUDGET_SECONDS,
        per_minute: int = RATE_LIMIT_PER_MINUTE,
        *,
        limit=None,
        sessions=None,
        replay=None,
        claims=None,
    ):
        self.reply_budget = reply_budget
        # Each has an in-memory and a Redis kind with the same methods (shared_state.py).
        self.limit = limit if limit is not None else RateLimit(per_minute)
        self.sessions = sessions if sessions is not None else Sessions()
        self.replay = replay if replay is not None else ReplayGuard()
        self.claims = claims if claims is not None else LocalClaims()
        # Retries reaching this worker wait on the answer being worked out here.
        self.deduper = Deduper()
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
        key = message_key(message)
        deadline = arrived + self.reply_budget
        if not self.deduper.has(key) and not await self.claims.claim(key):
            # Another worker answers it: its answer, if it is ready in time and nobody
            # delivered it yet.
            outcome = await self.claims.answer_elsewhere(key, deadline)
            if outcome is None or outcome.answer is None:
                return None
            return await self.shown_text(conversation_id, outcome)
        job, _new = self.deduper.start(
            key,
            # Called once per message key: WeChat's retries of a message are not counted again.
            work=lambda: self._answer_and_share(
                key, message, conversation_id, chat_service, config
            ),
            on_unclaimed=lambda outcome: self._deliver_late(
                key, outcome, conversation_id, openid, config
            ),
        )
        outcome = await self.deduper.wait(job, deadline - time.monotonic())
        if outcome is None or outcome.answer is None:
            return None
        if not await self.claims.replied(key):
            return None  # it went out late meanwhile (pushed, or kept for the next message)
        return await self.shown_text(conversation_id, outcome)

    async def _answer_and_share(
        self, key: str, message, conversation_id: str, chat_service, config: WeChatConfig
    ) -> Outcome:
        outcome = await self._answer_unless_too_fast(message, conversation_id, chat_service, config)
        await self.claims.finish(key, outcome)  # for a retry waiting on another worker
        return outcome

    async def _answer_unless_too_fast(
        self, message, conversation_id: str, chat_service, config: WeChatConfig
    ) -> Outcome:
        wait = await self.limit.acquire(conversation_id) if _counted(message) else 0
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

    async def shown_text(self, conversation_id: str, outcome: Outcome) -> str:
        if outcome.is_page:
            return outcome.answer.text
        return await self.sessions.shown(conversation_id, outcome.answer)

    def _deliver_late(
        self, key: str, outcome: Outcome, conversation_id: str, openid: str, config: WeChatConfig
    ) -> None:
        if outcome.answer is None:
            return
        task = asyncio.ensure_future(
            self._send_or_keep(key, outcome, conversation_id, openid, config)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_or_keep(
        self, key: str, outcome: Outcome, conversation_id: str, openid: str, config: WeChatConfig
    ) -> None:
        if self.claims.shared:
            await asyncio.sleep(HANDOVER_GRACE_SECONDS)
        if not await self.claims.take_late(key):
            return  # a retry on another worker replied with it
        service = self.customer_service(config)
        if service is None:
            await self.sessions.keep_pending(conversation_id, outcome)
            return
        text = await self.shown_text(conversation_id, outcome)
        try:
            await service.send_text(openid, text)
        except DeliveryFailed as error:
            # e.g. the user has not written for 48 hours: keep it for their next message.
            log.warning("late WeChat answer kept for the next message: %s", error)
            await self.sessions.keep_pending(
                conversation_id, Outcome(PhoneAnswer(text), is_page=True)
            )

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
