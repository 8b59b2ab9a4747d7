"""Mask identity-card, mobile and bank-card numbers before text goes anywhere.

ChatService calls `mask` first thing, so Rasa, the conversation log and every log file only ever
see the masked text. Numbers are recognised with their checksums (ISO 7064 MOD 11-2 for identity
cards, Luhn for bank cards) so ordinary figures such as 2500人 or 第13条 are left alone. People
mistype their own identity numbers, so an 18-character run with a real birth date where an
identity number has it (characters 7-14) is masked even when its check digit is wrong, like an
old 15-digit number with a real date.
"""

from __future__ import annotations

import re
from datetime import date

ID_CARD_MASK = "[身份证号]"
MOBILE_MASK = "[手机号]"
BANK_CARD_MASK = "[银行卡号]"

# Voice input and Chinese keyboards often produce full-width digits and spaces.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ　－＋", "0123456789Xx -+")

# A candidate is a maximal run of digits joined by whitespace runs or dashes (voice input and
# copied numbers come as "420202 19900101 1231", "139-1234-5678", "420202  19900101  1231"),
# optionally led by "+" and ending in X (identity cards). Letters end a run, so "ID4202…" and
# "tel138…" are found; a digit next to the run always belongs to it, so a number is never
# masked out of a longer one. Within a run, the longest stretch of whole groups that is a
# valid number is masked; "2022-2024", "2500", "60%" and item numbers never are.
_RUN = re.compile(r"\+?\d(?:[\s\-]*\d)*(?:[\s\-]*[Xx](?![A-Za-z]))?")
_GROUP = re.compile(r"\+?[\dXx]+")
_MOBILE = re.compile(r"(?:86)?1[3-9]\d{9}")
MAX_DIGITS = 19  # the longest number masked (bank cards)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id18_valid(number: str) -> bool:
    """ISO 7064 MOD 11-2 check digit of an 18-character identity number."""
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17]


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return born <= date.today()


def id18_plausible(number: str) -> bool:
    """17 digits and a digit or X, with a real birth date (1900 on) at characters 7-14: an
    identity number, perhaps mistyped, whatever its check digit says."""
    number = number.upper()
    if (
        len(number) != 18
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        return False
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    return year >= 1900 and _real_date(year, month, day)


def id15_plausible(number: str) -> bool:
    """Old 15-digit identity numbers (birth date 19YYMMDD at characters 7-12) carry no check
    digit; require a real date."""
    if len(number) != 15 or not number.isdigit():
        return False
    return _real_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def kind_of(digits: str) -> str | None:
    """The placeholder for a number (digits, maybe a final X), or None for an ordinary one."""
    if len(digits) == 18 and id18_valid(digits):
        return ID_CARD_MASK
    if not digits.isdigit():
        return ID_CARD_MASK if id18_plausible(digits) else None
    if len(digits) == 15 and id15_plausible(digits):
        return ID_CARD_MASK
    if _MOBILE.fullmatch(digits):
        return MOBILE_MASK
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return BANK_CARD_MASK
    if id18_plausible(digits):  # a mistyped identity number (a valid card is masked above)
        return ID_CARD_MASK
    return None


def _mask_run(run: str) -> str:
    groups = list(_GROUP.finditer(run))
    digits = [g.group(0).lstrip("+") for g in groups]
    out, pos, i = [], 0, 0
    while i < len(groups):
        found, joined = None, ""
        for j in range(i, len(groups)):  # the longest stretch of groups from group i
            joined += digits[j]
            if len(joined) > MAX_DIGITS:
                break
            placeholder = kind_of(joined)
            if placeholder:
                found = (j + 1, placeholder)
        if found:
            end, placeholder = found
            out += [run[pos : groups[i].start()], placeholder]
            pos, i = groups[end - 1].end(), end
        else:
            i += 1
    out.append(run[pos:])
    return "".join(out)


def mask(text: str) -> str:
    """The text with identity, mobile and bank-card numbers replaced by placeholders."""
    text = text.translate(_FULL_WIDTH)
    return _RUN.sub(lambda m: _mask_run(m.group(0)), text)
