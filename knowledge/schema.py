"""The knowledge base's tables: one `create` per table, in the order the build fills them."""

from __future__ import annotations

from sqlite_utils import Database

from knowledge.search import INDEX_TABLE


def create_tables(db: Database) -> None:
    db["documents"].create(
        {
            "number": str,
            "position": int,
            "source": str,
            "title": str,
            "notice_title": str,
            "issuer": str,
            "date": str,
            "implements": str,
            "implements_title": str,
            "period": str,
            "addressees": str,
            "copy_to": str,
        },
        pk="number",
    )
    db["parts"].create(
        {
            "key": str,
            "document": str,
            "ref": str,
            "numeral": str,
            "heading": str,
            "text": str,
            "position": int,
        },
        pk="key",
        foreign_keys=[("document", "documents", "number")],
    )
    db["actions"].create(
        {
            "key": str,
            "document": str,
            "part": str,
            "ref": str,
            "numeral": str,
            "heading": str,
            "position": int,
        },
        pk="key",
        foreign_keys=[("document", "documents", "number")],
    )
    db["entries"].create(
        {
            "key": str,
            "document": str,
            "kind": str,
            "item": int,
            "ref": str,
            "title": str,
            "text": str,
            "value": int,
            "part": str,
            "action": str,
            "origin": str,
            "position": int,
        },
        pk="key",
        foreign_keys=[("document", "documents", "number")],
    )
    db["sentences"].create(
        {"entry": str, "n": int, "text": str},
        pk=("entry", "n"),
        foreign_keys=[("entry", "entries", "key")],
    )
    db["departments"].create({"name": str, "position": int}, pk="name")
    db["department_aliases"].create(
        {"alias": str, "department": str},
        pk="alias",
        foreign_keys=[("department", "departments", "name")],
    )
    db["entry_departments"].create(
        {"entry": str, "department": str, "position": int},
        pk=("entry", "department"),
        foreign_keys=[("entry", "entries", "key"), ("department", "departments", "name")],
    )
    db["sentence_entities"].create(
        {"entry": str, "n": int, "start": int, "end": int, "entity": str, "value": str},
        pk=("entry", "n", "start", "entity"),
        foreign_keys=[("entry", "entries", "key")],
    )
    db[INDEX_TABLE].create(
        {"key": str, "document": str, "kind": str, "title": str, "body": str, "departments": str},
        pk="key",
    )
    # Easy-read (易读) summaries from knowledge/easy_read.yml: sentences and the lines shown
    # (sentences with the explanations of the official terms they use), as JSON lists.
    db["plain_summaries"].create(
        {"entry": str, "sentences": str, "lines": str, "terms": str},
        pk="entry",
        foreign_keys=[("entry", "entries", "key")],
    )
    db["plain_terms"].create({"term": str, "explanation": str, "position": int}, pk="term")
    # The situation check: which entries concern which situations, with the plan's phrase that
    # says so (knowledge/situations.yml).
    db["situations"].create(
        {"entry": str, "facet": str, "value": str, "role": str, "phrase": str, "position": int},
        pk=("entry", "facet", "value"),
        foreign_keys=[("entry", "entries", "key")],
    )
