"""The gateway's daily deletion of old conversation text (bot/chat/retention.py `purge`)."""

from __future__ import annotations

import asyncio
import logging

from bot.chat import retention
from bot.settings import Settings

log = logging.getLogger(__name__)
FIRST_PURGE_SECONDS = 60.0
PURGE_EVERY_SECONDS = 24 * 3600.0


class DailyPurge:
    """Runs `purge` off the event loop shortly after the gateway starts, then once a day.

    It never raises into the app: a failed run is logged and counted (`failures`, shown in
    /healthz) and tried again the next day.
    """

    def __init__(
        self, settings: Settings, first_after: float | None = None, every: float | None = None
    ) -> None:
        self.settings = settings
        self.first_after = FIRST_PURGE_SECONDS if first_after is None else first_after
        self.every = PURGE_EVERY_SECONDS if every is None else every
        self.runs = 0
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

    async def run_once(self) -> None:
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
