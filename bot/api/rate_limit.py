"""How fast one client may send: token buckets per key, in memory.

With one gateway process memory is the right place: nothing to share, nothing to clean up
after a restart (a restart forgives everyone, which is harmless). With REDIS_URL (several
workers or machines) the same buckets live in Redis (bot/api/redis_limits.py). A bucket holds `per_minute`
tokens and gains `per_minute / 60` a second; each message takes one. So a client may send
`per_minute` at once and then one every `60 / per_minute` seconds: an average of `per_minute`
a minute, and Retry-After is exactly the time until the next token.

Memory is bounded: a bucket untouched for a minute is full again, the same as no bucket, and is
forgotten; past `max_keys` the oldest is forgotten anyway (which only errs towards letting a
message through). The clock is injected, so the arithmetic is tested without sleeping.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["ChatLimits", "RateLimit", "admit", "too_fast_text"]

Clock = Callable[[], float]
MAX_KEYS = 50_000  # a bucket is about 200 bytes: 10 MB at most per limit
WINDOW_SECONDS = 60.0


def too_fast_text(seconds: int) -> str:
    """What a client over its limit is told, on every channel."""
    return f"您发得太快了，请等 {seconds} 秒再发。"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimit:
    """`per_minute` messages a minute per key (0: no limit)."""

    def __init__(self, per_minute: int, *, clock: Clock = time.monotonic, max_keys: int = MAX_KEYS):
        self.per_minute = per_minute
        self._clock = clock
        self._max = max_keys
        # Least recently charged first: the front is where forgettable buckets are.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def wait(self, key: str) -> float:
        """Seconds until `key` may send one message (0: now). Takes nothing."""
        if not self.enabled:
            return 0.0
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = self._refilled(bucket, self._clock())
        return 0.0 if tokens >= 1 else (1 - tokens) * WINDOW_SECONDS / self.per_minute

    def take(self, key: str) -> None:
        """Charge one message to `key` (callers check `wait` first)."""
        if not self.enabled:
            return
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            self._forget_old(now)
            bucket = _Bucket(tokens=float(self.per_minute), updated=now)
        bucket.tokens = self._refilled(bucket, now) - 1
        bucket.updated = now
        self._buckets[key] = bucket  # to the end: the most recently charged

    def hit(self, key: str) -> float:
        """Take one message if `key` may send now and return 0; else the seconds to wait."""
        wait = self.wait(key)
        if wait == 0:
            self.take(key)
        return wait

    async def acquire(self, key: str) -> int:
        """One message for `key`: 0 when it may send (and it is charged), else the whole
        seconds to wait. The interface the shared limit in Redis has too
        (bot/api/redis_limits.py)."""
        return admit([(self, key)])

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        gained = max(0.0, now - bucket.updated) * self.per_minute / WINDOW_SECONDS
        return min(float(self.per_minute), bucket.tokens + gained)

    def _forget_old(self, now: float) -> None:
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if len(self._buckets) < self._max and now - oldest.updated < WINDOW_SECONDS:
                break
            self._buckets.popitem(last=False)


def admit(checks: Iterable[tuple[RateLimit, str]]) -> int:
    """0 when every limit lets its key send, and then one message is charged to each; otherwise
    the whole seconds to wait (for Retry-After, at least 1) and nothing is charged, so a client
    held back by one limit does not use up the others."""
    checks = list(checks)
    wait = max((limit.wait(key) for limit, key in checks), default=0.0)
    if wait > 0:
        return max(1, math.ceil(wait))
    for limit, key in checks:
        limit.take(key)
    return 0


@dataclass
class ChatLimits:
    """The limits of POST /api/chat: per conversation and per client address."""

    per_conversation: RateLimit
    per_address: RateLimit

    @classmethod
    def from_settings(cls, settings, clock: Clock = time.monotonic) -> ChatLimits:
        return cls(
            RateLimit(settings.rate_limit_per_minute, clock=clock),
            RateLimit(settings.rate_limit_per_address_per_minute, clock=clock),
        )

    def admit(self, conversation_id: str, address: str) -> int:
        """0: answer it; else the seconds the client is asked to wait."""
        return admit([(self.per_conversation, conversation_id), (self.per_address, address)])

    async def check(self, conversation_id: str, address: str) -> int:
        """`admit`, as the routes call it: the limits in Redis have the same method."""
        return self.admit(conversation_id, address)
