"""The rate limits of bot/api/rate_limit.py counted in Redis, shared by every gateway worker
and machine (REDIS_URL).

The same token buckets as in memory (`per_minute` at once, then one every `60 / per_minute`
seconds), kept in one Redis hash per key and updated by one Lua script, so checking and
charging are one atomic step however many workers ask at once, and Redis's own clock serves
them all. A key untouched for a minute is full again and expires. Keys are hashed
(`shared_redis.hashed`): Redis never holds a cookie token, an API sender or an address.
When Redis cannot be reached the limits let the message through (fail open): a missed
limit costs a little Rasa time, a refused person costs an answer.
"""

from __future__ import annotations

import math

from bot.shared_redis import RedisDown, SharedRedis, hashed

__all__ = ["RedisChatLimits", "RedisRateLimit"]

# KEYS: one bucket per limit; ARGV: each limit's per_minute. Returns "0" and charges every
# bucket, or the seconds until every bucket has a token (and charges none).
TOKEN_BUCKETS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local tokens = {}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i])
  if rate > 0 then
    local held = redis.call('HMGET', KEYS[i], 'tokens', 'updated')
    local left = tonumber(held[1]) or rate
    local updated = tonumber(held[2]) or now
    left = math.min(rate, left + math.max(0, now - updated) * rate / 60)
    tokens[i] = left
    if left < 1 then wait = math.max(wait, (1 - left) * 60 / rate) end
  end
end
if wait > 0 then return tostring(wait) end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i])
  if rate > 0 then
    redis.call('HSET', KEYS[i], 'tokens', tostring(tokens[i] - 1), 'updated', tostring(now))
    redis.call('EXPIRE', KEYS[i], 61)
  end
end
return '0'
"""


async def _take(shared: SharedRedis, limits: list[tuple[str, int, str]]) -> int:
    """0: charged to every (name, per_minute, key); else whole seconds to wait (at least 1)."""
    limits = [limit for limit in limits if limit[1] > 0]
    if not limits:
        return 0
    keys = [shared.key("limit", name, hashed(key)) for name, _rate, key in limits]
    rates = [rate for _name, rate, _key in limits]
    try:
        wait = float(
            await shared.call(
                "rate limit", lambda r: r.eval(TOKEN_BUCKETS, len(keys), *keys, *rates)
            )
        )
    except RedisDown:
        return 0  # fail open
    return max(1, math.ceil(wait)) if wait > 0 else 0


class RedisRateLimit:
    """`per_minute` messages a minute per key, counted in Redis (the bridge's per-user limit)."""

    def __init__(self, shared: SharedRedis, per_minute: int, name: str) -> None:
        self.shared = shared
        self.per_minute = per_minute
        self.name = name

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    async def acquire(self, key: str) -> int:
        return await _take(self.shared, [(self.name, self.per_minute, key)])


class RedisChatLimits:
    """The limits of POST /api/chat (per conversation and per address) in Redis: a message
    must pass both and a held-back one is charged to neither, as in memory."""

    def __init__(self, shared: SharedRedis, per_conversation: int, per_address: int) -> None:
        self.shared = shared
        self.per_conversation = per_conversation
        self.per_address = per_address

    @classmethod
    def from_settings(cls, settings, shared: SharedRedis) -> RedisChatLimits:
        return cls(
            shared, settings.rate_limit_per_minute, settings.rate_limit_per_address_per_minute
        )

    async def check(self, conversation_id: str, address: str) -> int:
        return await _take(
            self.shared,
            [
                ("chat", self.per_conversation, conversation_id),
                ("address", self.per_address, address),
            ],
        )
