"""Signed console sessions (itsdangerous), CSRF tokens and the sign-in requirement."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.console.passwords import password_fingerprint
from bot.deps import PasswordStoreDep, SettingsDep

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
SESSION_MAX_AGE = 12 * 3600
LOGIN_MAX_AGE = 3600


class NotSignedIn(Exception):
    """Raised by `require_operator`; the app turns it into a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=purpose)


def new_session(settings, passwords) -> str:
    payload = {
        "v": password_fingerprint(passwords),
        "csrf": secrets.token_urlsafe(24),
    }
    return _serializer(settings.secret_key, SESSION_COOKIE).dumps(payload)


def read_session(request: Request, settings, passwords) -> dict | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        payload = _serializer(settings.secret_key, SESSION_COOKIE).loads(
            raw, max_age=SESSION_MAX_AGE
        )
    except BadSignature:
        return None
    current = password_fingerprint(passwords)
    if not isinstance(payload, dict) or current is None or payload.get("v") != current:
        return None
    return payload


def require_operator(request: Request, settings: SettingsDep, passwords: PasswordStoreDep) -> dict:
    """Dependency of every console page except sign-in."""
    session = read_session(request, settings, passwords)
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


def new_login_token(settings) -> tuple[str, str]:
    """(raw token for the form, signed value for the cookie): double-submit CSRF for sign-in."""
    token = secrets.token_urlsafe(24)
    return token, _serializer(settings.secret_key, LOGIN_COOKIE).dumps(token)


def login_token(request: Request, settings) -> str | None:
    raw = request.cookies.get(LOGIN_COOKIE)
    if not raw:
        return None
    try:
        return _serializer(settings.secret_key, LOGIN_COOKIE).loads(raw, max_age=LOGIN_MAX_AGE)
    except BadSignature:
        return None
