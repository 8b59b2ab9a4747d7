"""Build the knowledge base (SQLite, via sqlite-utils) from the plan sources.

Deterministic: keys come from the documents' own numbering and rows are written in document
order, so the same sources give the same rows. Atomic: the database is written to a temporary
file beside the target and moved over it with os.replace only when complete, so a failed build
leaves the previous knowledge base in place.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlite_utils import Database

from knowledge.easy_read import EASY_READ_PATH, EasyRead, load_easy_read, render
from knowledge.errors import SourceParseError
from knowledge.lexicon import get_lexicon
from knowledge.nlp import entities
from knowledge.parser import ParsedDocument, ParsedEntry, parse_file, split_sentences
from knowledge.schema import create_tables
from knowledge.search import INDEX_COLUMNS, INDEX_TABLE, index_text
from knowledge.situation.mapping import situation_rows
from knowledge.store import REPO_ROOT, default_db_path, open_kb

SOURCES_DIR = REPO_ROOT / "knowledge" / "sources"

Tagger = Callable[[str], list[dict]]


def source_files(folder: str | os.PathLike | None = None) -> list[Path]:
    return sorted(Path(folder or SOURCES_DIR).glob("*.md"))


def parse_sources(paths: Iterable[Path]) -> list[ParsedDocument]:
    documents: list[ParsedDocument] = []
    seen: dict[str, str] = {}
    for path in paths:
        doc = parse_file(path)
        if doc.number in seen:
            raise SourceParseError(
                str(path), 1, f"document {doc.number} is already in {seen[doc.number]}"
            )
        seen[doc.number] = str(path)
        documents.append(doc)
    if not documents:
        raise SourceParseError("knowledge/sources", 0, "no plan sources (*.md) to build from")
    return documents


def build(
    sources: Iterable[str | os.PathLike] | None = None,
    db_path: str | os.PathLike | None = None,
    tagger: Tagger | None = None,
    easy_read: str | os.PathLike | None = None,
) -> Path:
    """Parse every source and (re)write the knowledge base; returns its path.

    `sources` defaults to knowledge/sources/*.md, `db_path` to KNOWLEDGE_DB or
    build/knowledge.db, `tagger` to knowledge.nlp.entities, `easy_read` (the reviewed
    plain summaries) to knowledge/easy_read.yml.
    """
    paths = [Path(p) for p in sources] if sources is not None else source_files()
    target = Path(db_path) if db_path is not None else default_db_path()
    documents = parse_sources(paths)  # parse everything before touching the old database
    easy = load_easy_read(easy_read or EASY_READ_PATH)
    tag = tagger or _default_tagger()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        db = Database(tmp)
        write(db, documents, tag, easy)
        db.close()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _forget_open(target)
    return target


def write(
    db: Database, documents: list[ParsedDocument], tagger: Tagger, easy: EasyRead | None = None
) -> None:
    """Write all tables for `documents` into an empty database."""
    lex = get_lexicon()
    with db.conn:
        create_tables(db)
        department_order: dict[str, None] = {}
        for position, doc in enumerate(documents):
            _write_document(db, doc, position, tagger, department_order)
        _write_departments(db, list(department_order), lex)
        _write_index(db, lex)
        _write_plain(db, easy)
        _write_situations(db, documents)
    db[INDEX_TABLE].enable_fts(
        list(INDEX_COLUMNS), fts_version="FTS5", create_triggers=False, replace=True
    )  # enable_fts also fills the FTS table from the rows written above


def _write_situations(db: Database, documents: list[ParsedDocument]) -> None:
    numbers = [doc.number for doc in documents]
    db["situations"].insert_all(situation_rows(numbers))


def _write_document(
    db: Database,
    doc: ParsedDocument,
    position: int,
    tagger: Tagger,
    department_order: dict[str, None],
) -> None:
    number = doc.number
    db["documents"].insert(
        {
            "number": number,
            "position": position,
            "source": Path(doc.source).name,
            "title": doc.title,
            "notice_title": doc.notice_title,
            "issuer": doc.issuer,
            "date": doc.date,
            "implements": doc.implements,
            "implements_title": doc.implements_title,
            "period": doc.period,
            "addressees": _json(doc.addressees),
            "copy_to": _json(doc.copy_to),
        }
    )
    db["parts"].insert_all(
        {
            "key": f"{number}#{p.numeral}",
            "document": number,
            "ref": p.numeral,
            "numeral": p.numeral,
            "heading": p.heading,
            "text": p.text,
            "position": i,
        }
        for i, p in enumerate(doc.parts)
    )
    db["actions"].insert_all(
        {
            "key": f"{number}#{a.ref}",
            "document": number,
            "part": a.part,
            "ref": a.ref,
            "numeral": a.numeral,
            "heading": a.heading,
            "position": i,
        }
        for i, a in enumerate(doc.actions)
    )
    entries = [_document_entry(doc)] + doc.entries
    for i, entry in enumerate(_document_order(entries)):
        key = f"{number}#{entry.suffix}"
        db["entries"].insert(
            {
                "key": key,
                "document": number,
                "kind": entry.kind,
                "item": entry.item,
                "ref": entry.ref,
                "title": entry.title,
                "text": entry.text,
                "value": entry.value,
                "part": entry.part,
                "action": entry.action,
                "origin": f"{number}#{entry.origin}" if entry.origin else None,
                "position": i,
            }
        )
        sentences = split_sentences(entry.text)
        db["sentences"].insert_all(
            {"entry": key, "n": n, "text": s} for n, s in enumerate(sentences)
        )
        db["sentence_entities"].insert_all(_entity_rows(key, sentences, tagger), ignore=True)
        if entry.kind == "target":
            continue  # a target shares its item's departments; they answer for the item
        for name in entry.departments:
            department_order.setdefault(name, None)
        db["entry_departments"].insert_all(
            {"entry": key, "department": name, "position": n}
            for n, name in enumerate(entry.departments)
        )


def _document_order(entries: list[ParsedEntry]) -> list[ParsedEntry]:
    """Document facts first, then items and safeguards as printed, then targets."""
    rank = {"document": 0, "item": 1, "safeguard": 1, "target": 2}
    return sorted(entries, key=lambda e: rank[e.kind])  # stable: keeps printed order


def _document_entry(doc: ParsedDocument) -> ParsedEntry:
    """The facts about the notice itself, worded from the parsed header."""
    parts = [f"《{doc.title}》的文号是{doc.number}。"]
    if doc.issuer and doc.date:
        year, month, day = doc.date.split("-")
        parts.append(f"由{doc.issuer}于{year}年{int(month)}月{int(day)}日印发。")
    if doc.period:
        parts.append(f"实施期为{doc.period.replace('-', '至')}年。")
    if doc.implements:
        parts.append(f"它落实《{doc.implements_title}》（{doc.implements}）。")
    if doc.addressees:
        parts.append(f"主送：{'，'.join(doc.addressees)}。")
    if doc.copy_to:
        parts.append(f"抄送：{'，'.join(doc.copy_to)}。")
    return ParsedEntry(
        kind="document",
        suffix="document",
        ref="通知",
        title=doc.notice_title or doc.title,
        text="".join(parts),
        departments=[],
        part="",
        action=None,
        line=1,
    )


def _entity_rows(key: str, sentences: list[str], tagger: Tagger) -> Iterable[dict]:
    for n, sentence in enumerate(sentences):
        for ent in tagger(sentence):
            yield {
                "entry": key,
                "n": n,
                "start": int(ent["start"]),
                "end": int(ent["end"]),
                "entity": ent["entity"],
                "value": ent["value"],
            }


def _write_departments(db: Database, names: list[str], lex) -> None:
    db["departments"].insert_all({"name": n, "position": i} for i, n in enumerate(names))
    # The lexicon's department section: canonical name -> everyday names (卫健委, 烟草局 …).
    aliases: dict[str, str] = {}
    for concept in lex.concepts("department"):
        canonical = concept.canonical if concept.canonical in names else None
        canonical = canonical or lex.department_of(concept.canonical)
        if canonical not in names:
            continue
        for alias in (concept.canonical, *concept.variants):
            if alias != canonical:
                aliases.setdefault(alias, canonical)
    db["department_aliases"].insert_all(
        {"alias": a, "department": d} for a, d in sorted(aliases.items())
    )


def _write_index(db: Database, lex) -> None:
    aliases: dict[str, list[str]] = {}
    for row in db.query("select alias, department from department_aliases order by alias"):
        aliases.setdefault(row["department"], []).append(row["alias"])
    departments: dict[str, list[str]] = {}
    for row in db.query("select entry, department from entry_departments order by position"):
        departments.setdefault(row["entry"], []).append(row["department"])
    part_headings = {
        (r["document"], r["numeral"]): r["heading"]
        for r in db.query("select document, numeral, heading from parts")
    }
    rows = []
    for e in db.query("select * from entries order by document, position"):
        names = departments.get(e["key"], [])
        # The heading of the part an entry belongs to (主要目标, 保障措施 …) is searchable too;
        # every target counts as part of the goals, wherever its figure is quoted.
        part = "一" if e["kind"] == "target" else e["part"]
        heading = part_headings.get((e["document"], part), "")
        department_words = names + [a for n in names for a in aliases.get(n, [])]
        rows.append(
            {
                "key": e["key"],
                "document": e["document"],
                "kind": e["kind"],
                "title": index_text(f"{e['title']} {heading} {e['ref']}"),
                "body": index_text(e["text"]),
                "departments": index_text(" ".join(department_words)),
            }
        )
    db[INDEX_TABLE].insert_all(rows)


def _write_plain(db: Database, easy: EasyRead | None) -> None:
    """The summaries of the documents built here; one naming an entry these documents do not
    have is a mistake in the file (a typo would otherwise leave an entry without summary)."""
    if easy is None:
        return
    db["plain_terms"].insert_all(
        {"term": t, "explanation": e, "position": i} for i, (t, e) in enumerate(easy.terms.items())
    )
    documents = {r["number"] for r in db.query("select number from documents")}
    keys = {r["key"] for r in db.query("select key from entries")}
    rows = []
    for key, sentences in easy.summaries.items():
        if key.split("#", 1)[0] not in documents:
            continue
        if key not in keys:
            raise SourceParseError(str(EASY_READ_PATH.name), 0, f"no entry {key} in the plan")
        lines, terms = render(sentences, easy.terms)
        rows.append(
            {
                "entry": key,
                "sentences": _json(sentences),
                "lines": _json(lines),
                "terms": _json(terms),
            }
        )
    db["plain_summaries"].insert_all(rows)


def _json(value: list[str]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _default_tagger() -> Tagger:
    return entities


def _forget_open(path: Path) -> None:
    """Drop a cached open of the rebuilt file so the next open_kb sees the new rows."""
    open_kb.cache_clear()
