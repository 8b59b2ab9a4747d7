"""What the knowledge base hands out: entries, departments, documents, parts, search hits."""

from __future__ import annotations

from dataclasses import dataclass, field

# What the build's entity labels (knowledge.lexicon.LABELS) are called for people.
TAG_NAMES = {"department": "部门", "disability": "残疾类别", "group": "人群", "topic": "主题"}


@dataclass(frozen=True)
class Entry:
    key: str
    kind: str  # item | target | safeguard | document
    document: str
    item: int | None
    ref: str
    title: str
    text: str
    sentences: list[str]
    departments: list[str]
    value: int | None = None  # targets only
    origin: str | None = None  # targets: key of the item the figure is quoted from, if any
    # What the text mentions, as the build tagged it: entity label -> distinct canonical values,
    # in order of first mention (e.g. {"group": ["盲人"], "topic": ["盲人医疗按摩"]}).
    tags: dict[str, list[str]] = field(default_factory=dict)

    def named_tags(self) -> list[tuple[str, str]]:
        """(value, what kind of thing it is) for every tag, e.g. ("盲人", "人群")."""
        return [
            (value, TAG_NAMES.get(label, label))
            for label, values in self.tags.items()
            for value in values
        ]

    def source(self) -> dict:
        """The citation shape shared by answers, the API and the console (docs/design.md)."""
        return {
            "document": self.document,
            "item": self.item,
            "ref": self.ref,
            "kind": self.kind,
            "title": self.title,
            "departments": list(self.departments),
            "key": self.key,
        }


@dataclass(frozen=True)
class PlainSummary:
    """The easy-read (易读) summary of one entry (knowledge/easy_read.yml): at most three short
    sentences, each followed by the explanations of the official terms it uses first."""

    key: str
    sentences: list[str]
    lines: list[str]  # what is shown and read aloud, in order
    terms: list[str]  # the official terms explained

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float  # higher is better; a hit always has score > 0
    loose: bool = False  # found by the loose fallback, not by the full-text search

    def source(self) -> dict:
        return self.entry.source()


@dataclass(frozen=True)
class Department:
    name: str
    aliases: list[str]
    keys: list[str]  # entries it is responsible for, in document order


@dataclass(frozen=True)
class DocumentFacts:
    number: str
    title: str  # the plan's own title
    notice_title: str  # the title of the notice that issues it
    issuer: str
    date: str  # ISO date of issue
    implements: str | None  # number of the document it implements
    implements_title: str | None
    period: str | None  # e.g. "2022-2024"
    addressees: list[str]
    copy_to: list[str]
    source: str  # file name of the source


@dataclass(frozen=True)
class Action:
    ref: str  # e.g. 二（八）
    numeral: str
    heading: str
    keys: list[str]


@dataclass(frozen=True)
class Part:
    ref: str  # e.g. 二
    numeral: str
    heading: str
    text: str  # the part's own paragraph (part 一 states the goal), "" if none
    actions: list[Action] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # entries directly under the part
