"""Signed console sessions (itsdangerous), CSRF tokens and the sign-in requirement."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict, deque

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.console.passwords import password_fingerprint

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
SESSION_MAX_AGE = 12 * 3600
LOGIN_MAX_AGE = 3600


class NotSignedIn(Exception):
    """Raised by `require_operator`; the app turns it into a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _serializer(request: Request, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret_key, salt=purpose)


def new_session(request: Request) -> str:
    payload = {
        "v": password_fingerprint(request.app.state.conversation_log),
        "csrf": secrets.token_urlsafe(24),
    }
    return _serializer(request, SESSION_COOKIE).dumps(payload)


def read_session(request: Request) -> dict | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        payload = _serializer(request, SESSION_COOKIE).loads(raw, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    current = password_fingerprint(request.app.state.conversation_log)
    if not isinstance(payload, dict) or current is None or payload.get("v") != current:
        return None
    return payload


def require_operator(request: Request) -> dict:
    """Dependency of every console page except sign-in."""
    session = read_session(request)
    if session is None:
        raise NotSignedIn(request.url.path)
    request.state.console_session = session
    return session


def csrf_ok(expected: str | None, submitted: str | None) -> bool:
    if not (expected and submitted):
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged form field),
    # and a TypeError here was a 500.
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), submitted.encode("utf-8", "surrogatepass")
    )


def new_login_token(request: Request) -> tuple[str, str]:
    """(raw token for the form, signed value for the cookie): double-submit CSRF for sign-in."""
    token = secrets.token_urlsafe(24)
    return token, _serializer(request, LOGIN_COOKIE).dumps(token)


def login_token(request: Request) -> str | None:
    raw = request.cookies.get(LOGIN_COOKIE)
    if not raw:
        return None
    try:
        return _serializer(request, LOGIN_COOKIE).loads(raw, max_age=LOGIN_MAX_AGE)
    except BadSignature:
        return None


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
