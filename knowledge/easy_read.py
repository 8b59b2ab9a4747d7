"""Easy-read (易读) summaries: load knowledge/easy_read.yml and word each summary's lines.

The summaries are data written and reviewed by people (the YAML says how); nothing here
writes or shortens text. A summary is at most three short sentences; the first time one of
them uses an official term of the plan, the term's one-line explanation follows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import SourceParseError
from knowledge.yaml_files import load_yaml

EASY_READ_PATH = Path(__file__).with_name("easy_read.yml")
MAX_SENTENCES = 3
MAX_SENTENCE_CHARS = 20  # every character counts, punctuation included
MAX_EXPLANATION_CHARS = 20


@dataclass(frozen=True)
class EasyRead:
    """The file's content: how it was reviewed, the official terms, the words to avoid, and
    the summaries by entry key ("黄政办发〔2022〕60号#13" -> sentences)."""

    reviewed: str
    terms: dict[str, str]  # term -> explanation, in file order
    avoid: list[str]
    summaries: dict[str, list[str]]


def load_easy_read(path: str | Path = EASY_READ_PATH) -> EasyRead:
    """Read and check the file's shape; raises SourceParseError naming what is wrong."""
    where = str(path)
    try:
        data = load_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise SourceParseError(where, 0, f"cannot read the easy-read file: {exc}") from exc
    if not isinstance(data, dict):
        raise SourceParseError(where, 0, "expected reviewed, terms, avoid and summaries")
    reviewed = data.get("reviewed")
    if not isinstance(reviewed, str) or not reviewed.strip():
        raise SourceParseError(where, 0, "`reviewed` must say how the summaries were reviewed")
    terms = _mapping(data.get("terms"), "terms", where)
    for term, explanation in terms.items():
        if len(explanation) > MAX_EXPLANATION_CHARS:
            raise SourceParseError(
                where, 0, f"explanation of {term} is over {MAX_EXPLANATION_CHARS} characters"
            )
    avoid = data.get("avoid") or []
    if not isinstance(avoid, list) or not all(isinstance(w, str) and w for w in avoid):
        raise SourceParseError(where, 0, "`avoid` must be a list of words")
    summaries: dict[str, list[str]] = {}
    documents = data.get("summaries")
    if not isinstance(documents, dict):
        raise SourceParseError(where, 0, "`summaries` must map document numbers to entries")
    for document, entries in documents.items():
        if not isinstance(entries, dict):
            raise SourceParseError(where, 0, f"summaries of {document} must map entries to text")
        for suffix, sentences in entries.items():
            key = f"{document}#{suffix}"
            if (
                not isinstance(sentences, list)
                or not sentences
                or not all(isinstance(s, str) and s.strip() for s in sentences)
            ):
                raise SourceParseError(where, 0, f"{key}: a summary is a list of sentences")
            if len(sentences) > MAX_SENTENCES:
                raise SourceParseError(where, 0, f"{key}: more than {MAX_SENTENCES} sentences")
            summaries[key] = [s.strip() for s in sentences]
    return EasyRead(reviewed.strip(), terms, list(avoid), summaries)


def _mapping(value: Any, name: str, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()
    ):
        raise SourceParseError(where, 0, f"`{name}` must map words to text")
    return {k.strip(): v.strip() for k, v in value.items()}


def explanation_line(term: str, explanation: str) -> str:
    return f"{term}，就是{explanation}。"


def terms_in(sentence: str, terms: dict[str, str]) -> list[str]:
    """The official terms a sentence uses, in order of appearance; a term inside a longer
    one (就业援助 inside 就业援助月) does not count on its own."""
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str]] = []
    for term in sorted(terms, key=len, reverse=True):
        start = sentence.find(term)
        while start != -1:
            end = start + len(term)
            if not any(start < e and s < end for s, e in taken):
                taken.append((start, end))
                found.append((start, term))
                break
            start = sentence.find(term, start + 1)
    return [term for _, term in sorted(found)]


def render(sentences: list[str], terms: dict[str, str]) -> tuple[list[str], list[str]]:
    """The summary's lines (each sentence, then an explanation for each term it uses for the
    first time) and the terms explained, in order."""
    lines: list[str] = []
    explained: list[str] = []
    for sentence in sentences:
        lines.append(sentence)
        for term in terms_in(sentence, terms):
            if term not in explained:
                explained.append(term)
                lines.append(explanation_line(term, terms[term]))
    return lines, explained
