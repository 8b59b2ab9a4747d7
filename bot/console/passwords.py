"""The console password: set by the operator, stored as a salted scrypt hash in the password
store (bot/console/password_store.py). There is no default."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from bot.console.password_store import PasswordStore

MIN_LENGTH = 10
SCRYPT_PARAMS = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class WeakPassword(ValueError):
    pass


def _scrypt(password: str, salt: bytes, params: dict) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=64 * 1024 * 1024, **params)


def set_password(store: PasswordStore, password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"密码至少 {MIN_LENGTH} 个字符")
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_PARAMS)
    store.store(salt.hex(), digest.hex(), json.dumps(SCRYPT_PARAMS))


def has_password(store: PasswordStore) -> bool:
    return store.record() is not None


def verify_password(store: PasswordStore, password: str) -> bool:
    record = store.record()
    if record is None:
        return False
    digest = _scrypt(password, bytes.fromhex(record["salt"]), json.loads(record["params"]))
    return hmac.compare_digest(digest.hex(), record["hash"])


def password_fingerprint(store: PasswordStore) -> str | None:
    """Changes whenever the password does, so a new password ends old sessions."""
    record = store.record()
    if record is None:
        return None
    return hashlib.sha256(record["hash"].encode()).hexdigest()[:16]
