"""Voice-input slips: a span that sounds exactly like a word of the lexicon becomes that word.

Voice input and pinyin keyboards write 就叶 for 就业, 残即人 for 残疾人, 按磨 for 按摩: the same
syllables with the same tones, in other characters. `lexicon.yml` lists the slips seen so far
(忙人, 残连); this catches the ones nobody has listed yet, without a list to keep.

A span is replaced only when that is safe:
- it sounds like one concept of the lexicon, character for character, tones included;
- it is not a word itself (neither in the lexicon nor in jieba's dictionary: 工商 stays, though
  it sounds like 工伤) and holds no lexicon word (是残联 stays);
- jieba's cut of the text starts and ends a token at its edges, so the span is not the tail of
  one word and the head of the next (托养机构 never yields 养鸡).

On 4,214 development questions (waves 1-9) it changed 64, and every change was a real slip.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import lru_cache

# Only single characters are read here, so pypinyin's phrase dictionary is never used: skipping it
# keeps 45 MB out of every process that loads this module (readings of all 2,712 characters of
# the plan, the lexicon and the question sets are the same with and without it).
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")

import jieba
from pypinyin import Style, lazy_pinyin

from knowledge.jieba_tokenizer import cut

# Lexicon words this long are matched by sound; a longer slip is rare, and its shorter parts
# (就叶 in 就叶援助月) are caught anyway.
SHORTEST, LONGEST = 2, 6


@lru_cache(maxsize=8192)
def _sound(char: str) -> str:
    """One character's most common reading with its tone (业 -> ye4); a non-Chinese character
    sounds like itself."""
    return lazy_pinyin(char, style=Style.TONE3, neutral_tone_with_five=True)[0]


def _sounds(text: str) -> tuple[str, ...]:
    return tuple(_sound(char) for char in text)


def _is_chinese(text: str) -> bool:
    return all("\u4e00" <= char <= "\u9fff" for char in text)


def _spelling(words: set[str], canonical_of: Callable[[str], str]) -> str:
    """Of the words that sound alike, the canonical one if it is among them (公益岗 rather than
    its variant 公议岗), so the fix reads as the plan writes it."""
    canonical = canonical_of(next(iter(words)))
    return canonical if canonical in words else min(words)


class SoundAlikes:
    """The lexicon's words by their sound, and the fix of a text's slips."""

    def __init__(
        self,
        words: Iterable[str],
        canonical_of: Callable[[str], str],
        tokenizer: jieba.Tokenizer,
    ) -> None:
        self._words = frozenset(words)
        self._tokenizer = tokenizer
        by_sound: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for word in self._words:
            if SHORTEST <= len(word) <= LONGEST and _is_chinese(word):
                by_sound[_sounds(word)].add(word)
        # A sound shared by words of two concepts (公益 and 工艺 would be) is left alone.
        self._by_sound = {
            sound: _spelling(words, canonical_of)
            for sound, words in by_sound.items()
            if len({canonical_of(word) for word in words}) == 1
        }

    def fix(self, text: str) -> str:
        """The text with each safe slip replaced by the word it sounds like; same length."""
        if not any("\u4e00" <= char <= "\u9fff" for char in text):
            return text
        sounds = _sounds(text)
        edges = self._token_edges(text)
        fixed = list(text)
        start = 0
        while start < len(text):
            size = self._slip_at(text, sounds, edges, start)
            if size:
                fixed[start : start + size] = self._by_sound[sounds[start : start + size]]
                start += size
            else:
                start += 1
        return "".join(fixed)

    def _token_edges(self, text: str) -> set[int]:
        edges = {0}
        at = 0
        for token in cut(self._tokenizer, text):
            at += len(token)
            edges.add(at)
        return edges

    def _slip_at(self, text: str, sounds: tuple[str, ...], edges: set[int], start: int) -> int:
        """The length of the longest safe slip starting here, or 0."""
        if start not in edges:
            return 0
        for size in range(min(LONGEST, len(text) - start), SHORTEST - 1, -1):
            span = text[start : start + size]
            if (
                start + size in edges
                and sounds[start : start + size] in self._by_sound
                and not self._is_word(span)
                and not self._holds_word(span)
            ):
                return size
        return 0

    def _is_word(self, span: str) -> bool:
        return span in self._words or self._tokenizer.FREQ.get(span, 0) > 0

    def _holds_word(self, span: str) -> bool:
        return any(
            span[i:j] in self._words
            for i in range(len(span))
            for j in range(i + SHORTEST, len(span) + 1)
        )
