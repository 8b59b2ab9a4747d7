"""Chinese word segmentation with jieba and the lexicon.

jieba's global dictionary is shared by everything in a process (Rasa's JiebaTokenizer
loads into it), so the project keeps its own `jieba.Tokenizer` per lexicon. The same word
list and the same frequency go into Rasa's user dictionary (`write_user_dictionary`), so the
knowledge-base index, the query side, spaCy and Rasa all split text alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

# High enough that jieba keeps every lexicon word whole, even next to common words
# (jieba's most frequent word, 的, has about 3e5).
WORD_FREQUENCY = 100_000
USER_DICTIONARY_NAME = "lexicon.txt"


def make_tokenizer(words: Iterable[str]) -> jieba.Tokenizer:
    """A fresh private jieba tokenizer that knows `words`."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # jieba logs "Building prefix dict" on every load
    tokenizer = jieba.Tokenizer()
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


def segment(text: str) -> list[str]:
    """Segment text with the project lexicon (traditional characters are handled)."""
    from knowledge.lexicon import get_lexicon

    lexicon = get_lexicon()
    return cut(lexicon.tokenizer, text, lexicon.simplify(text))


def user_dictionary_lines(words: Iterable[str]) -> list[str]:
    """jieba user-dictionary lines ("word freq") for `words`, in order, without duplicates."""
    return [f"{word} {WORD_FREQUENCY}" for word in dict.fromkeys(words)]


def write_user_dictionary(folder: Path | str, words: Iterable[str] | None = None) -> Path:
    """Write `<folder>/lexicon.txt`, the folder Rasa's JiebaTokenizer takes as dictionary_path.

    The folder holds only this file: Rasa loads every file in it.
    """
    if words is None:
        from knowledge.lexicon import get_lexicon

        words = get_lexicon().words()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / USER_DICTIONARY_NAME
    path.write_text("\n".join(user_dictionary_lines(words)) + "\n", encoding="utf-8")
    return path
