"""Read access to the built knowledge base: entries, departments, targets, structure, search.

The knowledge base is small (a few dozen entries per document), so everything except the
full-text search is loaded into memory when it is opened; search runs FTS5 queries on a
read-only connection shared behind a lock (callers may use it from several threads).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from knowledge.errors import KnowledgeBaseMissing, NotFound
from knowledge.lexicon import get_lexicon
from knowledge.records import (
    Action,
    Department,
    DocumentFacts,
    Entry,
    Hit,
    Part,
    PlainSummary,
)
from knowledge.search import LooseIndex, search_index
from knowledge.situation.mapping import Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = REPO_ROOT / "build" / "knowledge.db"


def default_db_path() -> Path:
    """KNOWLEDGE_DB if set, else build/knowledge.db in the repository."""
    return Path(os.environ.get("KNOWLEDGE_DB") or DEFAULT_DB)


class KnowledgeBase:
    """One opened knowledge base; get it through `open_kb`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = _connect_read_only(path)
        self._lock = threading.Lock()
        self._documents = self._load_documents()
        self._entries = self._load_entries()
        self._departments, self._aliases = self._load_departments()
        self._structure = self._load_structure()
        self._plain, self._plain_terms = self._load_plain()
        self._loose_index = None
        self._situations: list[Mapping] | None = None

    # -- entries -------------------------------------------------------------------------
    def entry(self, key: str) -> Entry:
        try:
            return self._entries[key]
        except KeyError:
            raise NotFound(f"没有这一条：{key}") from None

    def item(self, number: int, document: str | None = None) -> Entry:
        doc = self.document(document).number
        return self.entry(f"{doc}#{int(number)}")

    def entries(self, kind: str | None = None, document: str | None = None) -> list[Entry]:
        if document is not None:
            self.document(document)  # raises NotFound for an unknown document
        return [
            e
            for e in self._entries.values()
            if (kind is None or e.kind == kind) and (document is None or e.document == document)
        ]

    def targets(self) -> list[Entry]:
        return self.entries(kind="target")

    # -- easy read -----------------------------------------------------------------------
    def plain_summary(self, key: str) -> PlainSummary | None:
        """The entry's reviewed plain summary; None when it has none (or the knowledge base
        was built before summaries existed)."""
        return self._plain.get(key)

    def plain_terms(self) -> dict[str, str]:
        """The plan's official terms and their one-line explanations."""
        return dict(self._plain_terms)

    # -- search --------------------------------------------------------------------------
    def search(
        self,
        query: str,
        limit: int = 5,
        kinds: Iterable[str] | None = None,
        keys: Iterable[str] | None = None,
        fallback: bool = False,
    ) -> list[Hit]:
        """Full-text search; with `fallback`, a question the full-text search finds nothing for
        gets the best candidates of a looser scan (`Hit.loose`), for callers' own words."""
        kinds = list(kinds) if kinds is not None else None
        keys = list(keys) if keys is not None else None
        with self._lock:
            ranked = search_index(self._conn, query, limit=limit, kinds=kinds, keys=keys)
        if ranked or not fallback:
            return [Hit(self._entries[key], score) for key, score in ranked]
        loose = self._loose().search(query, limit=limit, kinds=kinds, keys=keys)
        return [Hit(self._entries[key], score, loose=True) for key, score in loose]

    def _loose(self):
        with self._lock:
            if self._loose_index is None:
                self._loose_index = LooseIndex(
                    (e.key, e.kind, "。".join([e.title, e.text, "、".join(e.departments)]))
                    for e in self._entries.values()
                )
            return self._loose_index

    # -- departments ---------------------------------------------------------------------
    def department(self, name_or_alias: str) -> Department:
        name = (name_or_alias or "").strip()
        canonical = self._aliases.get(name)
        if canonical is None:
            canonical = _lexicon_department(name)
        if canonical is None or canonical not in self._departments:
            raise NotFound(f"方案里没有这个责任部门：{name}")
        return self._departments[canonical]

    def departments(self) -> list[Department]:
        return list(self._departments.values())

    # -- documents -----------------------------------------------------------------------
    def document(self, number: str | None = None) -> DocumentFacts:
        if number is None:
            return next(iter(self._documents.values()))
        try:
            return self._documents[number]
        except KeyError:
            raise NotFound(f"知识库里没有这个文件：{number}") from None

    def documents(self) -> list[DocumentFacts]:
        return list(self._documents.values())

    def structure(self, number: str | None = None) -> list[Part]:
        return self._structure[self.document(number).number]

    # -- navigation ----------------------------------------------------------------------
    def siblings(self, key: str) -> list[str]:
        """Entries under the same action heading (13 -> [14]), else the same part."""
        entry = self.entry(key)
        for part in self.structure(entry.document):
            for action in part.actions:
                if key in action.keys:
                    return [k for k in action.keys if k != key]
            if key in part.keys:
                return [k for k in part.keys if k != key]
        return []

    def actions(self, number: str | None = None) -> list[Action]:
        """The plan's actions (二（一）…二（十）) in document order, each with its entries."""
        return [a for part in self.structure(number) for a in part.actions]

    # -- loading -------------------------------------------------------------------------
    # -- the situation check -------------------------------------------------------------
    def situations(self) -> list[Mapping]:
        """Which entries concern which situations (knowledge/situations.yml), in file order."""
        if self._situations is None:
            self._situations = [
                Mapping(r["entry"], r["facet"], r["value"], r["role"], r["phrase"])
                for r in self._rows(
                    "select s.* from situations s join entries e on e.key = s.entry "
                    "join documents d on d.number = e.document order by d.position, s.position"
                )
            ]
        return self._situations

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, params).fetchall()

    def _load_documents(self) -> dict[str, DocumentFacts]:
        docs = {}
        for r in self._rows("select * from documents order by position"):
            docs[r["number"]] = DocumentFacts(
                number=r["number"],
                title=r["title"],
                notice_title=r["notice_title"],
                issuer=r["issuer"],
                date=r["date"],
                implements=r["implements"],
                implements_title=r["implements_title"],
                period=r["period"],
                addressees=json.loads(r["addressees"]),
                copy_to=json.loads(r["copy_to"]),
                source=r["source"],
            )
        return docs

    def _load_entries(self) -> dict[str, Entry]:
        sentences: dict[str, list[str]] = {}
        for r in self._rows("select entry, text from sentences order by entry, n"):
            sentences.setdefault(r["entry"], []).append(r["text"])
        departments: dict[str, list[str]] = {}
        for r in self._rows(
            "select entry, department from entry_departments order by entry, position"
        ):
            departments.setdefault(r["entry"], []).append(r["department"])
        tags: dict[str, dict[str, list[str]]] = {}
        for r in self._rows(
            "select entry, entity, value from sentence_entities order by entry, n, start, entity"
        ):
            values = tags.setdefault(r["entry"], {}).setdefault(r["entity"], [])
            if r["value"] not in values:
                values.append(r["value"])
        entries = {}
        for r in self._rows(
            "select e.* from entries e join documents d on d.number = e.document "
            "order by d.position, e.position"
        ):
            entries[r["key"]] = Entry(
                key=r["key"],
                kind=r["kind"],
                document=r["document"],
                item=r["item"],
                ref=r["ref"],
                title=r["title"],
                text=r["text"],
                sentences=sentences.get(r["key"], []),
                # a target answers to the departments of the item it is quoted from
                departments=departments.get(r["origin"] or r["key"], []),
                value=r["value"],
                origin=r["origin"],
                tags=tags.get(r["key"], {}),
            )
        return entries

    def _load_departments(self) -> tuple[dict[str, Department], dict[str, str]]:
        aliases: dict[str, list[str]] = {}
        alias_to_name: dict[str, str] = {}
        for r in self._rows("select alias, department from department_aliases order by alias"):
            aliases.setdefault(r["department"], []).append(r["alias"])
            alias_to_name[r["alias"]] = r["department"]
        keys: dict[str, list[str]] = {}
        for r in self._rows("select entry, department from entry_departments"):
            keys.setdefault(r["department"], []).append(r["entry"])
        order = list(self._entries)
        departments = {}
        for r in self._rows("select name from departments order by position"):
            name = r["name"]
            alias_to_name[name] = name
            departments[name] = Department(
                name=name,
                aliases=aliases.get(name, []),
                keys=sorted(keys.get(name, []), key=order.index),
            )
        return departments, alias_to_name

    def _load_plain(self) -> tuple[dict[str, PlainSummary], dict[str, str]]:
        tables = {r[0] for r in self._rows("select name from sqlite_master where type = 'table'")}
        if not {"plain_summaries", "plain_terms"} <= tables:
            return {}, {}
        summaries = {
            r["entry"]: PlainSummary(
                key=r["entry"],
                sentences=json.loads(r["sentences"]),
                lines=json.loads(r["lines"]),
                terms=json.loads(r["terms"]),
            )
            for r in self._rows("select * from plain_summaries")
        }
        terms = {
            r["term"]: r["explanation"]
            for r in self._rows("select term, explanation from plain_terms order by position")
        }
        return summaries, terms

    def _load_structure(self) -> dict[str, list[Part]]:
        actions: dict[str, list[Action]] = {}
        by_action: dict[str, list[str]] = {}
        by_part: dict[str, list[str]] = {}
        for e in self._rows("select key, document, part, action from entries order by position"):
            if e["action"]:
                by_action.setdefault(f"{e['document']}#{e['action']}", []).append(e["key"])
            elif e["part"]:
                by_part.setdefault(f"{e['document']}#{e['part']}", []).append(e["key"])
        for r in self._rows("select * from actions order by position"):
            actions.setdefault(f"{r['document']}#{r['part']}", []).append(
                Action(r["ref"], r["numeral"], r["heading"], by_action.get(r["key"], []))
            )
        structure: dict[str, list[Part]] = {number: [] for number in self._documents}
        for r in self._rows("select * from parts order by position"):
            structure[r["document"]].append(
                Part(
                    ref=r["ref"],
                    numeral=r["numeral"],
                    heading=r["heading"],
                    text=r["text"],
                    actions=actions.get(r["key"], []),
                    keys=by_part.get(r["key"], []),
                )
            )
        return structure


def _connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise KnowledgeBaseMissing(
            f"knowledge base not found at {path}; run `python -m knowledge build`"
        )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("select 1 from documents limit 1")
    except sqlite3.Error as exc:
        raise KnowledgeBaseMissing(f"knowledge base at {path} is not usable: {exc}") from exc
    return conn


def _lexicon_department(name: str) -> str | None:
    """Fall back to the lexicon for spellings the build did not store as aliases."""
    try:
        lex = get_lexicon()
        return lex.department_of(name) or lex.department_of(lex.normalize(name))
    except Exception:  # noqa: BLE001 - a broken lexicon must not break lookups by real names
        return None


_opening = threading.Lock()


@lru_cache(maxsize=8)
def _open(path: Path) -> KnowledgeBase:
    return KnowledgeBase(path)


def open_kb(path: str | os.PathLike | None = None) -> KnowledgeBase:
    """The knowledge base at `path` (default: KNOWLEDGE_DB or build/knowledge.db), cached.

    Raises KnowledgeBaseMissing when it has not been built.
    """
    resolved = Path(path) if path is not None else default_db_path()
    with _opening:  # threads asking at once share one load
        return _open(resolved.resolve())


open_kb.cache_clear = _open.cache_clear  # type: ignore[attr-defined]
