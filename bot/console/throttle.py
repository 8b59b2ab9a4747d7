"""The console's sign-in throttle: failed sign-ins per client, in memory."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

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
