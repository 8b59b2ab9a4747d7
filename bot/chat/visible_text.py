r"""What people type, as text: the characters nobody can see or read are dropped.

Control characters, zero-width and direction marks (Unicode category Cf: U+200B, U+200D,
U+202E, U+FEFF …) and unpaired surrogates carry no meaning in a question, yet they split words
for the segmenter (盲\u200b人按摩), hide digits from masking (138\u200b1234\u200b5678) and, the
unpaired surrogates a JSON body may carry ("\ud800"), cannot be written as UTF-8 at all (to
Rasa, to SQLite). Tabs and line breaks stay, and so does the zero-width joiner between two
symbols, where it builds one emoji (👨‍🦯, a man with a white cane) rather than splitting a word.
"""

from __future__ import annotations

import unicodedata

__all__ = ["joins_symbols", "visible_text"]

_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})  # control, format, surrogate
_KEPT = frozenset("\t\n\r")
ZWJ = "\u200d"
# What sits on either side of a joiner inside an emoji sequence: symbols (👨, 🦯, ❤) and the
# variation selector (U+FE0F, category Mn).
_EMOJI_CATEGORIES = frozenset({"So", "Sk", "Mn"})


def visible_text(text: str) -> str:
    """`text` without control, format (zero-width, direction) and surrogate characters."""
    return "".join(
        ch
        for i, ch in enumerate(text)
        if ch in _KEPT
        or unicodedata.category(ch) not in _DROPPED_CATEGORIES
        or (ch == ZWJ and joins_symbols(text, i))
    )


def joins_symbols(text: str, i: int) -> bool:
    """A joiner between two symbols (emoji), not beside a letter or digit of a word."""
    before, after = text[i - 1 : i], text[i + 1 : i + 2]
    return bool(before and after) and all(
        unicodedata.category(c) in _EMOJI_CATEGORIES for c in before + after
    )
