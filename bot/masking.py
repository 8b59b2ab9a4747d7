"""Mask identity-card, mobile and bank-card numbers before text goes anywhere.

ChatService calls `mask` first thing, so Rasa, the conversation log and every log file only ever
see the masked text. Numbers are recognised with their checksums (ISO 7064 MOD 11-2 for identity
cards, Luhn for bank cards) so ordinary figures such as 2500人 or 第13条 are left alone.
"""

from __future__ import annotations

import re

ID_CARD_MASK = "[身份证号]"
MOBILE_MASK = "[手机号]"
BANK_CARD_MASK = "[银行卡号]"

# Voice input and Chinese keyboards often produce full-width digits and spaces.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ　－＋", "0123456789Xx -+")

_SEP = r"[ \-]?"
# A digit run must not continue on either side (also across one separator).
_BEFORE = r"(?<![\dA-Za-z])(?<!\d[ \-])"
_AFTER = r"(?![ \-]?[\dA-Za-z])"

_ID18 = re.compile(_BEFORE + r"((?:\d" + _SEP + r"){17}[\dXx])" + _AFTER)
_ID15 = re.compile(_BEFORE + r"(\d{15})" + _AFTER)
_BANK = re.compile(_BEFORE + r"(\d(?:" + _SEP + r"\d){12,18})" + _AFTER)
_MOBILE = re.compile(
    r"(?<![\dA-Za-z+])(?<!\d[ \-])((?:\+?86[ \-]?)?1[3-9]\d(?:" + _SEP + r"\d){8})" + _AFTER
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _digits(text: str) -> str:
    return re.sub(r"[ \-]", "", text)


def id18_valid(number: str) -> bool:
    """ISO 7064 MOD 11-2 check digit of an 18-character identity number."""
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17]


def id15_plausible(number: str) -> bool:
    """Old 15-digit identity numbers carry no check digit; require a real month and day."""
    month, day = int(number[8:10]), int(number[10:12])
    return 1 <= month <= 12 and 1 <= day <= 31


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _replace_if(pattern: re.Pattern, valid, replacement: str, text: str) -> str:
    def sub(match: re.Match) -> str:
        return replacement if valid(_digits(match.group(1))) else match.group(0)

    return pattern.sub(sub, text)


def mask(text: str) -> str:
    """The text with identity, mobile and bank-card numbers replaced by placeholders."""
    text = text.translate(_FULL_WIDTH)
    text = _replace_if(_ID18, id18_valid, ID_CARD_MASK, text)
    text = _replace_if(_ID15, id15_plausible, ID_CARD_MASK, text)
    text = _replace_if(_MOBILE, lambda _: True, MOBILE_MASK, text)
    text = _replace_if(_BANK, luhn_valid, BANK_CARD_MASK, text)
    return text
