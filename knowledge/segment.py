"""Chinese word segmentation with jieba and the lexicon.

jieba's global dictionary is shared by everything in a process (Rasa's JiebaTokenizer
loads into it), so the project keeps its own `jieba.Tokenizer` per lexicon
(`knowledge.jieba_tokenizer`). The same word list and the same frequency go into Rasa's user
dictionary (`write_user_dictionary`), so the knowledge-base index, the query side, spaCy and
Rasa all split text alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from knowledge.jieba_tokenizer import WORD_FREQUENCY, cut
from knowledge.lexicon import get_lexicon

USER_DICTIONARY_NAME = "lexicon.txt"


def segment(text: str) -> list[str]:
    """Segment text with the project lexicon (traditional characters are handled)."""
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
        words = get_lexicon().words()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / USER_DICTIONARY_NAME
    path.write_text("\n".join(user_dictionary_lines(words)) + "\n", encoding="utf-8")
    return path
