"""What a person's words say about their situation: the facets of the situation check.

The words live in knowledge/situations.yml. `read` finds every facet a message speaks to (a long
story can fill several at once); the facet that was just asked also accepts short answers
("自己", "村里") that would mean nothing inside a story.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.lexicon import get_lexicon
from knowledge.numbers import parse_number
from knowledge.yaml_files import load_yaml

DATA = Path(__file__).resolve().parent.parent / "situations.yml"
# A message made only of these besides stop or skip words still is just that word ("算了吧").
_FILLERS = (
    "吧",
    "啊",
    "呀",
    "哈",
    "嘛",
    "了",
    "的",
    "呢",
    "哦",
    "噢",
    "嗯",
    "这个",
    "那个",
    "我",
    "还是",
)
_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)
_NUMBER = r"([0-9]{1,3}|[零一二两三四五六七八九十廿]{1,4})"
# 四十五岁, 45周岁, 今年五十出头, 三十多岁, 六十三了.
_YEARS = re.compile(rf"(?:{_NUMBER}\s*(?:多|来|出头)?\s*(?:周岁|岁|了))|(?:今年\s*{_NUMBER})")
_BARE_YEARS = re.compile(rf"^{_NUMBER}(?:多|来|出头)?(?:周岁|岁)?$")
_QUESTION = re.compile(r"[？?]|吗|么|什么|怎么|怎样|如何|哪|多少|能不能|可不可以|有没有|是否|咋")


@dataclass(frozen=True)
class Facet:
    name: str
    values: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # value -> (words, answer words)
    years: dict[str, tuple[int, int]]
    several: str | None  # the value when the words name two values at once (聋哑 -> 多重)


@dataclass(frozen=True)
class Vocabulary:
    facets: dict[str, Facet]
    skip_words: tuple[str, ...]
    stop_words: tuple[str, ...]
    not_asked: str

    @property
    def order(self) -> list[str]:
        """The facets in the order the form asks them."""
        return list(self.facets)

    def values(self, facet: str) -> list[str]:
        return list(self.facets[facet].values)


@lru_cache(maxsize=1)
def vocabulary(path: Path = DATA) -> Vocabulary:
    data = load_yaml(path)
    facets = {}
    for name, spec in data["facets"].items():
        values = {
            value: (
                tuple(str(w) for w in words.get("words") or []),
                tuple(str(w) for w in words.get("answer_words") or []),
            )
            for value, words in spec["values"].items()
        }
        years = {value: (int(lo), int(hi)) for value, (lo, hi) in (spec.get("years") or {}).items()}
        facets[name] = Facet(name, values, years, spec.get("several"))
    return Vocabulary(
        facets=facets,
        skip_words=tuple(data["skip_words"]),
        stop_words=tuple(data["stop_words"]),
        not_asked=str(data["not_asked"]),
    )


def normalized(text: str) -> str:
    """Full-width to half-width, traditional to simplified characters (the lexicon's table)."""
    return get_lexicon().simplify(unicodedata.normalize("NFKC", text or "").strip())


def read(text: str, asked: str | None = None, vocab: Vocabulary | None = None) -> dict[str, str]:
    """Every facet the message speaks to, with its value. `asked` is the facet whose question
    the message answers: for it, the short answer words count too."""
    vocab = vocab or vocabulary()
    said = normalized(text)
    found = {}
    for name, facet in vocab.facets.items():
        value = _value(facet, said, answering=(name == asked))
        if value is not None:
            found[name] = value
    return found


def _value(facet: Facet, said: str, answering: bool) -> str | None:
    # As the answer to its own question, a value's answer words count like its words, so the
    # values' order decides: "我是公司老板" is an employer, though "我是" alone means 本人.
    named = [
        value
        for value, (words, answer_words) in facet.values.items()
        if any(w in said for w in (*words, *(answer_words if answering else ())))
    ]
    if len(named) > 1 and facet.several:
        return facet.several
    if named:
        return named[0]
    if facet.years:
        years = _years(said, bare=answering)
        if years is not None:
            for value, (lo, hi) in facet.years.items():
                if lo <= years <= hi:
                    return value
    return None


def _years(said: str, bare: bool) -> int | None:
    """An age in the text ("四十五岁", "今年50"); a bare number only as the answer to the age
    question."""
    match = _YEARS.search(said)
    if match:
        return parse_number(match.group(1) or match.group(2))
    if bare:
        match = _BARE_YEARS.match(_PUNCTUATION.sub("", said))
        return parse_number(match.group(1)) if match else None
    return None


def _only(text: str, words: tuple[str, ...]) -> bool:
    """Whether the text is nothing but these words and fillers ("算了吧", "算了不问了")."""
    rest = _PUNCTUATION.sub("", normalized(text))
    if not rest:
        return False
    found = False
    while rest:
        word = next((w for w in (*words, *_FILLERS) if rest.startswith(w)), None)
        if word is None:
            return False
        found = found or word in words
        rest = rest[len(word) :]
    return found


def is_stop(text: str, vocab: Vocabulary | None = None) -> bool:
    """算了 / 停 / 不问了: the person wants to leave the check."""
    return _only(text, (vocab or vocabulary()).stop_words)


def is_skip(text: str, vocab: Vocabulary | None = None) -> bool:
    """不想说 / 保密 / 跳过 anywhere in the message."""
    said = normalized(text)
    return any(w in said for w in (vocab or vocabulary()).skip_words)


def is_question(text: str) -> bool:
    """A question rather than an answer: a question mark or a question word."""
    return bool(_QUESTION.search(normalized(text)))
