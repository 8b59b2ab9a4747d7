"""A private jieba tokenizer that keeps given words whole, and the cut every splitter shares.

The bottom layer of segmentation: it knows jieba, not the lexicon. `knowledge.lexicon` builds
its tokenizer here, `knowledge.segment` and the spaCy tokenizer (`knowledge.nlp`) cut with it,
and Rasa's user dictionary carries the same word frequency, so every part splits text alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

import jieba

# High enough that jieba keeps every lexicon word whole, even next to common words
# (jieba's most frequent word, 的, has about 3e5).
WORD_FREQUENCY = 100_000


def _loaded() -> jieba.Tokenizer:
    """A jieba tokenizer with the main dictionary loaded (about 1 s: a marshal cache of
    350,000 words, about 20 MB in memory)."""
    jieba.setLogLevel(logging.WARNING)  # jieba logs "Building prefix dict" on every load
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@lru_cache(maxsize=1)
def _main_dictionary() -> tuple[dict[str, int], int]:
    """The main dictionary (word -> frequency, and the total), loaded once and kept for copies."""
    base = _loaded()
    return base.FREQ, base.total


_made_one = False  # whether this process has made a tokenizer yet


def make_tokenizer(words: Iterable[str]) -> jieba.Tokenizer:
    """A fresh private jieba tokenizer that knows `words`.

    The first tokenizer of a process loads the main dictionary for itself: the gateway and
    the action server make one and keep no second copy. Later ones start from a copy of a
    dictionary loaded once and kept (30 ms instead of 1 s a load), since a knowledge build or a
    test session makes several. What `initialize` would set is exactly these two fields.
    """
    global _made_one
    if _made_one:
        frequencies, total = _main_dictionary()
        tokenizer = jieba.Tokenizer()
        tokenizer.FREQ, tokenizer.total = dict(frequencies), total
        tokenizer.initialized = True
    else:
        _made_one = True
        tokenizer = _loaded()
    for word in words:
        tokenizer.add_word(word, freq=WORD_FREQUENCY)
    return tokenizer


def cut(tokenizer: jieba.Tokenizer, text: str, simplified: str | None = None) -> list[str]:
    """Split `text` into tokens (slices of `text`, no empty strings).

    With `simplified` (the same text, character for character simplified), the cut is made
    on the simplified form, so traditional text splits like its simplified twin.
    """
    if simplified is None:
        return [token for token in tokenizer.cut(text) if token]
    if len(simplified) != len(text):
        raise ValueError("the simplified text must have the same length as the text")
    tokens = []
    start = 0
    for token in tokenizer.cut(simplified):
        if token:
            tokens.append(text[start : start + len(token)])
            start += len(token)
    return tokens
