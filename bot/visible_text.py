r"""What people type, as text: the characters nobody can see or read are dropped.

Control characters, zero-width and direction marks (Unicode category Cf: U+200B, U+200D,
U+202E, U+FEFF …) and unpaired surrogates carry no meaning in a question, yet they split words
for the segmenter (盲\u200b人按摩), hide digits from masking (138\u200b1234\u200b5678) and, the
unpaired surrogates a JSON body may carry ("\ud800"), cannot be written as UTF-8 at all (to
Rasa, to SQLite). Tabs and line breaks stay.
"""

from __future__ import annotations

import unicodedata

__all__ = ["visible_text"]

_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})  # control, format, surrogate
_KEPT = frozenset("\t\n\r")


def visible_text(text: str) -> str:
    """`text` without control, format (zero-width, direction) and surrogate characters."""
    return "".join(
        ch for ch in text if ch in _KEPT or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
