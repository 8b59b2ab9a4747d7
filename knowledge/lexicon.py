"""The domain lexicon: the one word list behind normalisation, segmentation, spaCy and Rasa.

`knowledge/lexicon.yml` lists the plan's multiword terms, the everyday words people use for
the plan's words (synonyms), and the labelled vocabularies (departments, disabilities,
groups, topics) that become entities. Everything that splits or tags Chinese text in this
project reads it through `get_lexicon()`, so training, indexing and querying agree.

Over 400 lines: the vocabulary and the checks of the file that defines it belong together.
About 170 of them read and validate `lexicon.yml` (with a line-exact error for each mistake),
and they build the `Lexicon` the rest serves; a module of their own would import `Lexicon`
while `get_lexicon()` imports them, a loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import jieba
import yaml

from knowledge.jieba_tokenizer import cut, make_tokenizer
from knowledge.sound_alike import SoundAlikes
from knowledge.yaml_files import load_yaml

LEXICON_PATH = Path(__file__).with_name("lexicon.yml")

# Section of lexicon.yml -> entity label (the label is also the Rasa entity name).
LABELLED_SECTIONS: dict[str, str] = {
    "departments": "department",
    "disabilities": "disability",
    "groups": "group",
    "topics": "topic",
}
LABELS: tuple[str, ...] = tuple(LABELLED_SECTIONS.values())
_SECTIONS = {"terms", "tagged_terms", "synonyms", "related", "traditional", *LABELLED_SECTIONS}

# jieba's default mode first splits text into runs of these characters; a word with any
# other character (e.g. 各县（市、区）人民政府) can never come out of jieba as one token.
_JIEBA_WORD = re.compile(r"^[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+$")

# Full-width digits and Latin letters (typed with a Chinese IME) -> ASCII; same length.
_FULL_WIDTH = {
    code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B) if chr(code - 0xFEE0).isalnum()
}


class LexiconError(ValueError):
    """lexicon.yml is malformed; the message says where."""


@dataclass(frozen=True)
class Concept:
    """One canonical word of the plan and the everyday words that mean it."""

    canonical: str
    variants: tuple[str, ...]
    label: str | None  # entity label, None for plain synonyms


class Lexicon:
    """Read-only view of a validated lexicon. Build it with `load_lexicon` or `get_lexicon`."""

    def __init__(
        self,
        terms: list[str],
        concepts: list[Concept],
        traditional: dict[str, str],
        tagged_terms: dict[str, str] | None = None,
        related: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._terms = terms
        # canonical the plan never names -> the plan's words for it (search expansion)
        self.related = dict(related or {})
        self._tagged_terms = dict(tagged_terms or {})  # plan term -> canonical it is tagged as
        self._concepts = {c.canonical: c for c in concepts}
        self._variant_of = {v: c.canonical for c in concepts for v in c.variants}
        self._simplify_table = str.maketrans(
            {**traditional, **{chr(k): chr(v) for k, v in _FULL_WIDTH.items()}}
        )
        self.traditional = dict(traditional)

    # --- word lists -------------------------------------------------------------------------

    def words(self) -> list[str]:
        """Every word jieba must keep whole: terms, canonical words and multi-character variants.

        Words jieba cannot keep whole (with brackets or 、) are left out; they are still
        matched by the entity ruler token by token.
        """
        seen: dict[str, None] = {}
        for word in self._terms:
            seen[word] = None
        for concept in self._concepts.values():
            for word in (concept.canonical, *concept.variants):
                if len(word) > 1:
                    seen[word] = None
        return [w for w in seen if _JIEBA_WORD.match(w)]

    def concepts(self, label: str | None = None) -> list[Concept]:
        """Concepts in file order; with `label`, only those of that entity label."""
        return [c for c in self._concepts.values() if label is None or c.label == label]

    def values(self, label: str) -> list[str]:
        """Canonical entity values of one label, e.g. values("department")."""
        if label not in LABELS:
            raise KeyError(f"unknown entity label {label!r}; labels are {', '.join(LABELS)}")
        return [c.canonical for c in self.concepts(label)]

    def canonical_of(self, word: str) -> str | None:
        """The canonical word for a canonical word or a variant (after simplification)."""
        word = self.simplify(word.strip())
        if word in self._concepts:
            return word
        return self._variant_of.get(word)

    def entity_names(self, concept: Concept) -> list[str]:
        """Every name tagged as this concept: canonical, variants and tagged plan terms."""
        tagged = [
            t for t, canonical in self._tagged_terms.items() if canonical == concept.canonical
        ]
        return [concept.canonical, *concept.variants, *tagged]

    def label_of(self, word: str) -> str | None:
        canonical = self.canonical_of(word)
        return self._concepts[canonical].label if canonical else None

    def department_of(self, alias: str) -> str | None:
        """Canonical department name for a name or alias (卫健委 -> 市卫健委), else None."""
        name = self.simplify(alias.strip())
        for candidate in (name, name.removeprefix("黄石市"), name.removeprefix("黄石")):
            canonical = self.canonical_of(candidate)
            if canonical and self._concepts[canonical].label == "department":
                return canonical
        return None

    def rasa_synonyms(self) -> dict[str, list[str]]:
        """canonical -> variants for every labelled concept, for Rasa's EntitySynonymMapper.

        Traditional spellings are added, because Rasa sees the user's raw text.
        """
        result: dict[str, list[str]] = {}
        for concept in self._concepts.values():
            if concept.label is None:
                continue
            names: dict[str, None] = {}
            for word in self.entity_names(concept):
                names[word] = None
                names[self.traditional_form(word)] = None
            names.pop(concept.canonical, None)
            if names:
                result[concept.canonical] = list(names)
        return result

    def entity_patterns(self) -> list[dict[str, str]]:
        """spaCy EntityRuler phrase patterns: every name of every labelled concept."""
        return [
            {"label": c.label, "pattern": word, "id": c.canonical}
            for c in self._concepts.values()
            if c.label is not None
            for word in self.entity_names(c)
        ]

    # --- text -------------------------------------------------------------------------------

    def simplify(self, text: str) -> str:
        """Traditional -> simplified characters, full-width digits/letters -> ASCII.

        Character for character, so offsets in the result are offsets in the input.
        """
        return text.translate(self._simplify_table)

    def traditional_form(self, text: str) -> str:
        """Best-effort simplified -> traditional (first traditional char listed wins)."""
        return text.translate(self._traditional_table)

    @cached_property
    def _traditional_table(self) -> dict[int, str]:
        reverse: dict[str, str] = {}
        for trad, simp in self.traditional.items():
            reverse.setdefault(simp, trad)
        return str.maketrans(reverse)

    def normalize(self, text: str) -> str:
        """Everyday words -> the plan's words; traditional -> simplified; voice slips fixed (listed
        ones, and unlisted ones that sound like a lexicon word: knowledge/sound_alike.py).

        Multi-character names are replaced leftmost-longest, where canonical words and terms
        compete too, so a canonical word already present is never cut into. Single-character
        variants (烟, 瞎) are replaced only when jieba makes them a token of their own, so
        吸烟 or 瞎说 stay untouched. Replacements never stutter: an abbreviation followed by
        the rest of its full name (24365校园网络招聘) and adjacent repeats (养鸡养鱼, 忙人医疗
        按摩) give the plan's word once.
        """
        text = self.sound_alikes.fix(self.simplify(text))
        pieces: list[tuple[str, bool]] = []  # (text, came from a replacement)
        i = 0
        while i < len(text):
            match = self._longest_match(text, i)
            if match is None:
                pieces.append((text[i], False))
                i += 1
                continue
            i += len(match)
            canonical = self._variant_of.get(match)
            if canonical is None:
                _append_piece(pieces, match, replaced=False)
            else:
                i += _rest_of_name_already_written(canonical, match, text, i)
                _append_piece(pieces, canonical, replaced=True)
        text = "".join(piece for piece, _ in pieces)
        if self._single_char_variants:
            text = "".join(
                self._variant_of[token] if token in self._single_char_variants else token
                for token in cut(self.tokenizer, text)
            )
        return self._expand_related(text)

    def _expand_related(self, text: str) -> str:
        """视力残疾 -> 视力残疾（盲人）: the plan's words added once after the canonical."""
        for canonical, words in self.related.items():
            at = text.find(canonical)
            missing = [w for w in words if w not in text]
            if at < 0 or not missing:
                continue
            end = at + len(canonical)
            text = f"{text[:end]}（{'、'.join(missing)}）{text[end:]}"
        return text

    @cached_property
    def sound_alikes(self) -> SoundAlikes:
        """Voice-input slips of the lexicon's words (就叶 -> 就业), found by their sound."""
        keys, _ = self._match_keys
        return SoundAlikes(keys, lambda word: self._variant_of.get(word, word), self.tokenizer)

    @cached_property
    def tokenizer(self) -> jieba.Tokenizer:
        """A private jieba tokenizer that knows every word of this lexicon."""
        return make_tokenizer(self.words())

    @cached_property
    def _match_keys(self) -> tuple[frozenset[str], int]:
        keys = {*self._terms, *self._concepts, *self._variant_of}
        keys = {k for k in keys if len(k) > 1}
        return frozenset(keys), max(map(len, keys), default=0)

    @cached_property
    def _single_char_variants(self) -> frozenset[str]:
        return frozenset(v for v in self._variant_of if len(v) == 1)

    def _longest_match(self, text: str, start: int) -> str | None:
        keys, longest = self._match_keys
        for size in range(min(longest, len(text) - start), 1, -1):
            piece = text[start : start + size]
            if piece in keys:
                return piece
        return None


def _rest_of_name_already_written(canonical: str, variant: str, text: str, at: int) -> int:
    """How many characters after an abbreviation continue its full name (at least two)."""
    start = canonical.find(variant)
    if start < 0:
        return 0
    rest = canonical[start + len(variant) :]
    size = 0
    while size < len(rest) and at + size < len(text) and text[at + size] == rest[size]:
        size += 1
    return size if size >= 2 else 0


def _append_piece(pieces: list[tuple[str, bool]], piece: str, replaced: bool) -> None:
    """Append, dropping a replacement that repeats or merely begins its neighbour."""
    if pieces:
        last, last_replaced = pieces[-1]
        if replaced or last_replaced:
            if last == piece:
                return
            if len(last) > 1 and piece.startswith(last):
                pieces[-1] = (piece, replaced)
                return
    pieces.append((piece, replaced))


# --- loading and validation -------------------------------------------------------------------


def load_lexicon(path: Path | str = LEXICON_PATH) -> Lexicon:
    """Read and validate a lexicon file; raises LexiconError saying what is wrong."""
    path = Path(path)
    try:
        data = load_yaml(path)
    except yaml.YAMLError as error:
        raise LexiconError(f"{path}: not valid YAML: {error}") from error
    return parse_lexicon(data, source=str(path))


def parse_lexicon(data: Any, source: str = "lexicon") -> Lexicon:
    """Validate the parsed YAML of a lexicon and build the Lexicon."""
    if not isinstance(data, dict):
        raise LexiconError(f"{source}: the top level must be a mapping of sections")
    unknown = set(data) - _SECTIONS
    if unknown:
        raise LexiconError(
            f"{source}: unknown section(s) {sorted(unknown)}; allowed: {sorted(_SECTIONS)}"
        )

    terms = [_word(w, f"{source}: terms") for w in _list(data.get("terms"), f"{source}: terms")]
    concepts: list[Concept] = []
    for section, label in [("synonyms", None), *LABELLED_SECTIONS.items()]:
        concepts += _concepts(data.get(section), label, f"{source}: {section}")
    _check_unique(concepts, source)
    variant_terms = [t for t in terms if any(t in c.variants for c in concepts)]
    if variant_terms:
        raise LexiconError(f"{source}: terms {variant_terms} are also variants; list them once")
    traditional = _traditional(data.get("traditional"), f"{source}: traditional")
    tagged_terms = _tagged_terms(
        data.get("tagged_terms"), terms, concepts, f"{source}: tagged_terms"
    )
    related = _related(data.get("related"), terms, concepts, f"{source}: related")
    simplified_words = {*terms, *(w for c in concepts for w in (c.canonical, *c.variants))}
    for word in simplified_words:
        bad = [ch for ch in word if ch in traditional]
        if bad:
            raise LexiconError(
                f"{source}: {word!r} contains traditional character(s) {bad}; write it simplified"
            )
    return Lexicon(terms, concepts, traditional, tagged_terms, related)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise LexiconError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _word(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LexiconError(f"{where}: {value!r} is not a non-empty word")
    if value != value.strip() or any(ch.isspace() for ch in value):
        raise LexiconError(f"{where}: {value!r} contains whitespace")
    return value


def _concepts(section: Any, label: str | None, where: str) -> list[Concept]:
    if section is None:
        return []
    if not isinstance(section, dict):
        raise LexiconError(f"{where}: expected a mapping canonical -> [variants]")
    concepts = []
    for canonical, variants in section.items():
        canonical = _word(canonical, where)
        names = [
            _word(v, f"{where}: {canonical}") for v in _list(variants, f"{where}: {canonical}")
        ]
        if canonical in names:
            raise LexiconError(f"{where}: {canonical!r} lists itself as a variant")
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise LexiconError(f"{where}: {canonical!r} lists {sorted(duplicates)} twice")
        concepts.append(Concept(canonical, tuple(names), label))
    return concepts


def _check_unique(concepts: list[Concept], source: str) -> None:
    canonical_of: dict[str, str] = {}
    for concept in concepts:
        if concept.canonical in canonical_of:
            raise LexiconError(f"{source}: canonical word {concept.canonical!r} is defined twice")
        canonical_of[concept.canonical] = concept.canonical
    for concept in concepts:
        for variant in concept.variants:
            owner = canonical_of.get(variant)
            if owner == variant:
                raise LexiconError(
                    f"{source}: {variant!r} is a canonical word and also a variant of {concept.canonical!r}"
                )
            if owner is not None:
                raise LexiconError(
                    f"{source}: variant {variant!r} maps to both {owner!r} and {concept.canonical!r}"
                )
            canonical_of[variant] = concept.canonical


def _tagged_terms(
    value: Any, terms: list[str], concepts: list[Concept], where: str
) -> dict[str, str]:
    """`tagged_terms` maps a plan term to the labelled canonical it is an entity of."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LexiconError(f"{where}: expected a mapping term -> canonical")
    labelled = {c.canonical for c in concepts if c.label is not None}
    tagged = {}
    for term, canonical in value.items():
        term = _word(term, where)
        if term not in terms:
            raise LexiconError(f"{where}: {term!r} is not listed under terms")
        if canonical not in labelled:
            raise LexiconError(f"{where}: {term!r} points to {canonical!r}, no labelled canonical")
        tagged[term] = canonical
    return tagged


def _related(
    value: Any, terms: list[str], concepts: list[Concept], where: str
) -> dict[str, tuple[str, ...]]:
    """`related` maps a canonical word to plan words (canonical words or terms) it implies."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LexiconError(f"{where}: expected a mapping canonical -> [plan words]")
    canonicals = {c.canonical for c in concepts}
    known = canonicals | set(terms)
    related = {}
    for canonical, words in value.items():
        canonical = _word(canonical, where)
        if canonical not in canonicals:
            raise LexiconError(f"{where}: {canonical!r} is not a canonical word")
        names = tuple(
            _word(w, f"{where}: {canonical}") for w in _list(words, f"{where}: {canonical}")
        )
        unknown = [w for w in names if w not in known or w == canonical]
        if unknown:
            raise LexiconError(
                f"{where}: {canonical!r} relates to {unknown}, not other canonical words or terms"
            )
        related[canonical] = names
    return related


def _traditional(value: Any, where: str) -> dict[str, str]:
    """`traditional` is a string of pairs like "殘残 業业": traditional char, simplified char."""
    if value is None:
        return {}
    if not isinstance(value, str):
        raise LexiconError(f"{where}: expected a string of pairs like '殘残 業业'")
    table: dict[str, str] = {}
    for pair in value.split():
        if len(pair) != 2 or pair[0] == pair[1]:
            raise LexiconError(f"{where}: {pair!r} is not a pair of two different characters")
        trad, simp = pair
        if table.get(trad, simp) != simp:
            raise LexiconError(f"{where}: {trad!r} maps to both {table[trad]!r} and {simp!r}")
        table[trad] = simp
    clash = set(table) & set(table.values())
    if clash:
        raise LexiconError(f"{where}: {sorted(clash)} used both as traditional and simplified")
    return table


@lru_cache(maxsize=1)
def get_lexicon() -> Lexicon:
    """The project's lexicon (knowledge/lexicon.yml), loaded once per process."""
    return load_lexicon(LEXICON_PATH)


# --- Rasa NLU files generated from the lexicon --------------------------------------------------

RASA_SYNONYMS_PATH = Path(__file__).resolve().parent.parent / "data" / "nlu" / "synonyms.yml"
RASA_LOOKUPS_PATH = RASA_SYNONYMS_PATH.with_name("lookups.yml")
_GENERATED = (
    "# Generated from knowledge/lexicon.yml by `python -m knowledge.nlp`; do not edit by hand.\n"
)


def rasa_synonyms_yaml(lexicon: Lexicon) -> str:
    """The text of data/nlu/synonyms.yml: one `- synonym:` per labelled concept."""
    lines = [_GENERATED, 'version: "3.1"', "nlu:"]
    for canonical, variants in lexicon.rasa_synonyms().items():
        lines.append(f"- synonym: {canonical}")
        lines.append("  examples: |")
        lines += [f"    - {v}" for v in variants]
    return "\n".join(lines) + "\n"


def rasa_lookups_yaml(lexicon: Lexicon) -> str:
    """The text of data/nlu/lookups.yml: one `- lookup:` table per entity label."""
    lines = [_GENERATED, 'version: "3.1"', "nlu:"]
    for label in LABELS:
        lines.append(f"- lookup: {label}")
        lines.append("  examples: |")
        for concept in lexicon.concepts(label):
            lines += [f"    - {w}" for w in lexicon.entity_names(concept)]
    return "\n".join(lines) + "\n"
