"""The console's sign-in throttle: failed sign-ins per client, in memory or, with REDIS_URL,
in Redis (one count for every worker)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

from bot.shared_redis import RedisDown, SharedRedis, hashed

MAX_THROTTLED_CLIENTS = 10_000


class LoginThrottle:
    """At most `limit` failed sign-ins per client within `window` seconds.

    Only clients with a recent failure are remembered, at most `max_clients` of them (the
    longest-quiet one is forgotten first), so a flood of addresses cannot grow the map.
    """

    def __init__(
        self, limit: int = 5, window: float = 600, max_clients: int = MAX_THROTTLED_CLIENTS
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _prune(self, failures: deque[float]) -> deque[float]:
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        failures = self._failures.get(client)
        if failures is None:
            return False
        if not self._prune(failures):
            del self._failures[client]
            return False
        return len(failures) >= self.limit

    def failed(self, client: str) -> None:
        failures = self._prune(self._failures.pop(client, None) or deque())
        failures.append(time.monotonic())
        self._failures[client] = failures  # most recent failure last
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


class RedisLoginThrottle:
    """The same throttle in Redis (REDIS_URL), so every gateway worker and machine counts the
    same failures: a counter per client (hashed) that expires `window` seconds after its first
    failure, which is a fixed window where memory keeps a sliding one (the same limit, never
    more attempts). The sign-in route runs in the threadpool, so this uses Redis's blocking
    client. Redis down: nobody is blocked (the password check itself still holds) and failures
    go uncounted until it is back."""

    def __init__(self, shared: SharedRedis, limit: int = 5, window: float = 600) -> None:
        self.shared = shared
        self.limit = limit
        self.window = window

    def _key(self, client: str) -> str:
        return self.shared.key("signin", hashed(client))

    def blocked(self, client: str) -> bool:
        try:
            count = self.shared.call_sync("sign-in throttle", lambda r: r.get(self._key(client)))
        except RedisDown:
            return False
        return int(count or 0) >= self.limit

    def failed(self, client: str) -> None:
        key = self._key(client)

        def count(r) -> None:
            with r.pipeline() as pipe:  # MULTI: the counter never lives without its expiry
                pipe.incr(key)
                pipe.expire(key, int(self.window), nx=True)
                pipe.execute()

        try:
            self.shared.call_sync("sign-in throttle", count)
        except RedisDown:
            pass

    def succeeded(self, client: str) -> None:
        try:
            self.shared.call_sync("sign-in throttle", lambda r: r.delete(self._key(client)))
        except RedisDown:
            pass
