"""The WeChat callback protocol: signatures, freshness, replay, a capped body, safe parsing,
AES safe mode. wechatpy does the protocol; this module guards what it is given."""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict

import defusedxml.ElementTree as SafeET
from starlette.requests import Request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

MAX_BODY_BYTES = 64 * 1024  # real messages are a few hundred bytes
MAX_CLOCK_SKEW_SECONDS = 300


class Rejected(Exception):
    """The request is not from WeChat (bad/stale/replayed signature): 403, nothing logged."""


class BadMessage(Exception):
    """Signed but unusable (not XML, hostile XML, wrong AppID): a 4xx, never a 500."""


class TooLarge(Exception):
    """Body over MAX_BODY_BYTES: 413, read no further."""


def signature_valid(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        return False
    return True


def timestamp_fresh(timestamp: str, now: float | None = None) -> bool:
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    return abs(now - sent) <= MAX_CLOCK_SKEW_SECONDS


class ReplayGuard:
    """Plaintext mode signs only (token, timestamp, nonce), not the body, so a captured query
    could carry any body for five minutes. A (timestamp, nonce, signature) is accepted again only
    for the same message (WeChat's own retry, which the deduper answers once), never another.
    Safe mode goes through it too, with msg_signature, which also covers the encrypted body."""

    def __init__(self, keep_seconds: float = 2 * MAX_CLOCK_SKEW_SECONDS, max_entries: int = 50_000):
        self._seen: OrderedDict[tuple[str, str, str], tuple[str, float]] = OrderedDict()
        self._keep = keep_seconds
        self._max = max_entries

    def admit(self, query: tuple[str, str, str], message_key: str) -> bool:
        now = time.monotonic()
        while self._seen and (
            len(self._seen) >= self._max or now - next(iter(self._seen.values()))[1] > self._keep
        ):
            self._seen.popitem(last=False)
        seen = self._seen.get(query)
        if seen is not None:
            return seen[0] == message_key
        self._seen[query] = (message_key, now)
        return True

    async def check(self, query: tuple[str, str, str], message_key: str) -> bool:
        """`admit`, as the route calls it: the guard in Redis has the same method."""
        return self.admit(query, message_key)


async def read_capped_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _checked_xml(body: bytes | str) -> dict[str, str]:
    """Parse with defusedxml first: no DTD, no entities, root <xml>. Returns the flat fields."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except Exception as error:  # ParseError, DTDForbidden, EntitiesForbidden, encoding errors
        raise BadMessage(f"not acceptable XML: {type(error).__name__}") from error
    if root.tag != "xml":
        raise BadMessage("root element is not <xml>")
    return {child.tag: (child.text or "") for child in root}


def parse_plain(body: bytes | str):
    """A wechatpy message or event from a plaintext body."""
    fields = _checked_xml(body)
    if not fields.get("MsgType"):
        raise BadMessage("no MsgType")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        return parse_message(text)
    except Exception as error:  # wechatpy/xmltodict on odd but well-formed input
        raise BadMessage(f"wechatpy could not parse: {type(error).__name__}") from error


def decrypt(
    body: bytes,
    *,
    token: str,
    aes_key: str,
    app_id: str,
    msg_signature: str,
    timestamp: str,
    nonce: str,
) -> str:
    """The inner XML of a safe-mode message; Rejected when msg_signature does not cover it."""
    envelope = _checked_xml(body)
    if not envelope.get("Encrypt"):
        raise BadMessage("no Encrypt element")
    try:
        crypto = WeChatCrypto(token, aes_key, app_id)
        return crypto.decrypt_message(envelope, msg_signature, timestamp, nonce)
    except InvalidSignatureException as error:
        raise Rejected("bad msg_signature") from error
    except Exception as error:  # wrong AppID, bad base64/padding, bad key
        raise BadMessage(f"cannot decrypt: {type(error).__name__}") from error


def encrypt(
    reply_xml: str, *, token: str, aes_key: str, app_id: str, nonce: str, timestamp: str
) -> str:
    # The nonce is echoed into the envelope's CDATA: keep only a harmless one.
    if not re.fullmatch(r"[A-Za-z0-9]{1,32}", nonce or ""):
        nonce = secrets.token_hex(8)
    return WeChatCrypto(token, aes_key, app_id).encrypt_message(reply_xml, nonce, timestamp)


def message_key(message) -> str:
    """MsgId for messages; events have none (wechatpy says 0): sender + creation time + event.
    Read from the raw fields: wechatpy's int() on a hostile MsgId would raise."""
    raw = getattr(message, "_data", {}) or {}
    source, msg_id = raw.get("FromUserName") or "", raw.get("MsgId") or raw.get("MsgID") or ""
    if str(raw.get("MsgType", "")).lower() != "event" and msg_id:
        return f"msg:{source}:{msg_id}"
    return f"evt:{source}:{raw.get('CreateTime', '')}:{raw.get('Event', '')}"
