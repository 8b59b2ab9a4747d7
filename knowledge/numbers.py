"""Numbers as people write them: "13", "１３", "十三", "廿一", "两"."""

from __future__ import annotations

import unicodedata

_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def parse_number(word: str) -> int | None:
    """The whole word as a number from 0 to 99, or None if it is anything else."""
    word = unicodedata.normalize("NFKC", word).strip().replace("廿", "二十")
    if not word:
        return None
    if word.isascii() and word.isdigit():
        return int(word) if len(word) <= 3 else None
    if "十" in word:
        tens, _, ones = word.partition("十")
        if tens and tens not in _DIGITS or ones and ones not in _DIGITS:
            return None
        return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)
    return _DIGITS.get(word)
