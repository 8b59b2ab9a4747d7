"""The gateway's link to Redis (REDIS_URL): state that every worker and machine must share.

The WeChat bridge (bot/wechat/shared_state.py), the rate limits (bot/api/redis_limits.py) and
the console's sign-in throttle (bot/console/throttle.py) keep their counters and hand-overs
here when REDIS_URL is set, and in the process's memory otherwise.

Redis going away must never cost an answer: every call is bounded by a short socket timeout,
a failure raises `RedisDown` (the caller falls back to what one worker can do alone: answer
without the cross-worker guarantees, let the limits pass) and is logged once per outage. For
`RETRY_AFTER_SECONDS` after a failure calls fail at once instead of each waiting for the
timeout; then the next call tries again, and the first success logs that Redis is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio

__all__ = ["RedisDown", "SharedRedis", "hashed"]

log = logging.getLogger(__name__)

T = TypeVar("T")
# Redis on the same network answers in well under a millisecond; a call that takes longer
# than this is treated as Redis being down (WeChat's 5 s and the chat's 3 s must hold).
TIMEOUT_SECONDS = 0.5
RETRY_AFTER_SECONDS = 1.0
ERRORS = (redis.RedisError, OSError, asyncio.TimeoutError)


class RedisDown(Exception):
    """Redis could not be reached (or has just failed): fall back, never fail the request."""


def hashed(value: str) -> str:
    """A key part for a conversation id or address: Redis need not hold them in clear."""
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class SharedRedis:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "zhucan:",
        timeout: float = TIMEOUT_SECONDS,
        retry_after: float = RETRY_AFTER_SECONDS,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self._timeout = timeout
        self._retry_after = retry_after
        self._down_until = 0.0
        self._down = False
        self._state = threading.Lock()
        self.failures = 0
        # The asyncio client belongs to the event loop that made it (tests run several loops).
        self._async: tuple[asyncio.AbstractEventLoop, redis.asyncio.Redis] | None = None
        self._sync = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
            )
            self._async = (loop, client)
        return self._async[1]

    async def call(self, what: str, fn: Callable[[redis.asyncio.Redis], Awaitable[T]]) -> T:
        """`await fn(client)`, or RedisDown."""
        self._check()
        try:
            result = await asyncio.wait_for(fn(self._client()), self._timeout * 2)
        except ERRORS as error:
            self._failed(what, error)
            raise RedisDown(what) from error
        self._succeeded()
        return result

    def call_sync(self, what: str, fn: Callable[[redis.Redis], T]) -> T:
        """`fn(client)` for code that runs in a thread (the console's sign-in), or RedisDown."""
        self._check()
        try:
            result = fn(self._sync)
        except ERRORS as error:
            self._failed(what, error)
            raise RedisDown(what) from error
        self._succeeded()
        return result

    @property
    def down(self) -> bool:
        return self._down

    def _check(self) -> None:
        if self._down and time.monotonic() < self._down_until:
            raise RedisDown("recently unreachable")

    def _failed(self, what: str, error: BaseException) -> None:
        with self._state:
            self.failures += 1
            first = not self._down
            self._down = True
            self._down_until = time.monotonic() + self._retry_after
        if first:
            log.warning(
                "Redis unreachable (%s: %s: %s): answering without shared state, limits open, "
                "until it is back",
                what,
                type(error).__name__,
                error,
            )

    def _succeeded(self) -> None:
        if self._down:
            with self._state:
                was_down, self._down = self._down, False
            if was_down:
                log.warning("Redis is back: shared state in use again")

    async def aclose(self) -> None:
        if self._async is not None:
            loop, client = self._async
            self._async = None
            if loop is asyncio.get_running_loop():
                try:
                    await client.close()
                except ERRORS:
                    pass
        self._sync.close()

    def info(self) -> dict[str, Any]:
        return {"down": self._down, "failures": self.failures}
