"""Valid identity, mobile and bank-card numbers for masking tests (computed, not copied)."""

from __future__ import annotations

from bot.chat.masking import _ID_CHECK, _ID_WEIGHTS


def identity_number(first17: str = "42020219900307123") -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return first17 + _ID_CHECK[total % 11]


def luhn_number(body: str = "621700123456789012") -> str:
    """`body` plus the Luhn check digit."""
    for check in "0123456789":
        candidate = body + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch)
            if i % 2 == 1:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


MOBILE = "13912345678"
