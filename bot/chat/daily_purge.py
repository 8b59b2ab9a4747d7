"""The gateway's daily deletion of old conversation text (bot/chat/retention.py `purge`)."""

from __future__ import annotations

import asyncio
import logging

from bot.chat import retention
from bot.settings import Settings
from bot.shared_redis import RedisDown, SharedRedis

log = logging.getLogger(__name__)
FIRST_PURGE_SECONDS = 60.0
PURGE_EVERY_SECONDS = 24 * 3600.0
# With REDIS_URL, one worker of all purges in a period: the first to wake claims it for most of
# the period, so the next day's first waker can claim again even if the clocks drift.
CLAIM_SHARE = 0.9


class DailyPurge:
    """Runs `purge` off the event loop shortly after the gateway starts, then once a day.

    It never raises into the app: a failed run is logged and counted (`failures`, shown in
    /healthz) and tried again the next day. With `shared` (REDIS_URL: several workers or
    machines on one database) only the worker that claims the period purges; if Redis cannot
    be reached each purges anyway, which deletes nothing twice, only repeats the work.
    """

    def __init__(
        self,
        settings: Settings,
        first_after: float | None = None,
        every: float | None = None,
        shared: SharedRedis | None = None,
    ) -> None:
        self.settings = settings
        self.first_after = FIRST_PURGE_SECONDS if first_after is None else first_after
        self.every = PURGE_EVERY_SECONDS if every is None else every
        self.shared = shared
        self.runs = 0
        self.skipped = 0  # periods another worker purged
        self.failures = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run_forever(self) -> None:
        await asyncio.sleep(self.first_after)
        while True:
            await self.run_once()
            await asyncio.sleep(self.every)

    async def _claimed(self) -> bool:
        """Whether this worker purges this period (always, without shared state)."""
        if self.shared is None:
            return True
        shared, seconds = self.shared, max(1, int(self.every * CLAIM_SHARE))
        try:
            return bool(
                await shared.call(
                    "purge claim",
                    lambda client: client.set(shared.key("purge"), "1", nx=True, ex=seconds),
                )
            )
        except RedisDown:
            return True

    async def run_once(self) -> None:
        if not await self._claimed():
            self.skipped += 1
            return
        try:
            deleted = await asyncio.to_thread(retention.purge, self.settings)
        except Exception as error:  # noqa: BLE001 - the gateway must keep answering
            self.failures += 1
            log.error(
                "retention purge failed (%s: %s); %d failure(s) so far",
                type(error).__name__,
                error,
                self.failures,
            )
            return
        self.runs += 1
        for item in deleted:
            if not item.clean:
                self.failures += 1
            log.info(
                "retention: %d row(s) older than %d days deleted from %s%s",
                item.rows,
                self.settings.retention_days,
                item.path,
                "" if item.clean else " (file busy: not rewritten, tried again tomorrow)",
            )
