"""Building the knowledge base: tables, determinism, atomic replacement, several documents."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_utils import Database

from knowledge.build import build
from knowledge.errors import SourceParseError
from knowledge.store import open_kb

FIXTURES = Path(__file__).parent / "fixtures"
PLAN_NUMBER = "黄政办发〔2022〕60号"
SECOND_NUMBER = "黄残联发〔2023〕7号"

TABLES = {
    "documents",
    "parts",
    "actions",
    "entries",
    "sentences",
    "departments",
    "department_aliases",
    "entry_departments",
    "sentence_entities",
    "entry_index",
    "entry_index_fts",
}


def _dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table (FTS shadow tables included), in rowid order."""
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
    dump = {}
    for name in sorted(names):
        try:
            dump[name] = conn.execute(f'select rowid, * from "{name}" order by rowid').fetchall()
        except sqlite3.OperationalError:  # WITHOUT ROWID tables (FTS5 shadow tables)
            dump[name] = sorted(conn.execute(f'select * from "{name}"').fetchall(), key=repr)
    dump["schema"] = conn.execute(
        "select type, name, sql from sqlite_master order by name"
    ).fetchall()
    conn.close()
    return dump


def test_tables(kb_path):
    db = Database(kb_path)
    assert TABLES <= set(db.table_names())
    assert db["entries"].pks == ["key"]
    assert db["entries"].count == 1 + 22 + 4 + 3
    assert db["sentences"].count > 22
    printed = [e for e in open_kb(kb_path).entries() if e.kind != "target"]
    assert db["entry_departments"].count == sum(len(e.departments) for e in printed)


def test_keys_come_from_the_document(kb_path):
    keys = [r["key"] for r in Database(kb_path).query("select key from entries order by position")]
    assert keys[0] == f"{PLAN_NUMBER}#document"
    assert f"{PLAN_NUMBER}#13" in keys and f"{PLAN_NUMBER}#三（二）" in keys
    assert f"{PLAN_NUMBER}#target-rural-1500" in keys


def _entities(kb_path, key: str) -> list[dict]:
    return list(
        Database(kb_path).query(
            "select e.*, s.text as sentence from sentence_entities e "
            "join sentences s on s.entry = e.entry and s.n = e.n where e.entry = ?",
            [key],
        )
    )


def test_sentences_are_tagged_with_entities(kb_path):
    blind = _entities(kb_path, f"{PLAN_NUMBER}#13")
    assert ("group", "盲人") in {(r["entity"], r["value"]) for r in blind}
    supervision = _entities(kb_path, f"{PLAN_NUMBER}#三（四）")
    assert ("department", "各县（市、区）人民政府") in {
        (r["entity"], r["value"]) for r in supervision
    }
    for row in blind + supervision:
        assert 0 <= row["start"] < row["end"] <= len(row["sentence"])
        assert row["sentence"][row["start"] : row["end"]]


def test_department_aliases_from_the_lexicon(kb_path):
    aliases = dict(
        Database(kb_path).execute("select alias, department from department_aliases").fetchall()
    )
    for alias in ("卫健委", "卫生健康委", "市卫生健康委员会"):
        assert aliases[alias] == "市卫健委"
    assert aliases["烟草局"] == "市烟草专卖局"


@pytest.mark.slow  # a second build and a build in a fresh process (spaCy): 9-20 s
def test_build_is_deterministic(tmp_path, plan_source, kb_path):
    """Same sources, same rows: in this process and in another one with other hash seeds."""
    first = kb_path  # the session's build, in this process
    second = build(sources=[plan_source], db_path=tmp_path / "b" / "knowledge.db")
    third = tmp_path / "c" / "knowledge.db"
    subprocess.run(
        [sys.executable, "-m", "knowledge", "build", "--db", str(third), str(plan_source)],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert _dump(first)["entries"]
    assert _dump(first) == _dump(second)
    assert _dump(first) == _dump(third)


def test_failed_build_keeps_the_previous_knowledge_base(tmp_path, plan_source, kb_path):
    target = tmp_path / "knowledge.db"
    shutil.copy(kb_path, target)  # a knowledge base built before
    before = target.read_bytes()
    broken = tmp_path / "broken.md"
    broken.write_text(
        plan_source.read_text(encoding="utf-8").replace(
            "市人社局、市卫健委]", "市人社局、市卫健委"
        ),
        encoding="utf-8",
    )
    with pytest.raises(SourceParseError):
        build(sources=[plan_source, broken], db_path=target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.md", "knowledge.db"]


def test_failure_while_writing_leaves_no_temp_file(tmp_path, plan_source, kb_path):
    target = tmp_path / "knowledge.db"
    shutil.copy(kb_path, target)  # a knowledge base built before
    before = target.read_bytes()

    def failing_tagger(sentence: str) -> list[dict]:
        raise RuntimeError("tagger broke")

    with pytest.raises(RuntimeError, match="tagger broke"):
        build(sources=[plan_source], db_path=target, tagger=failing_tagger)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["knowledge.db"]


def test_rebuild_is_seen_by_open_kb(tmp_path, plan_source, kb_path):
    target = tmp_path / "knowledge.db"
    shutil.copy(kb_path, target)  # a knowledge base built before
    assert len(open_kb(target).documents()) == 1
    build(sources=[plan_source, FIXTURES / "second-plan.md"], db_path=target)
    assert len(open_kb(target).documents()) == 2


def test_same_document_twice_fails(tmp_path, plan_source):
    copy = tmp_path / "copy.md"
    copy.write_text(plan_source.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SourceParseError, match="already in"):
        build(sources=[plan_source, copy], db_path=tmp_path / "knowledge.db")
    assert not (tmp_path / "knowledge.db").exists()


def test_no_sources_fails(tmp_path):
    with pytest.raises(SourceParseError, match="no plan sources"):
        build(sources=[], db_path=tmp_path / "knowledge.db")


# -- several documents in one knowledge base ---------------------------------------------------


def test_each_document_keeps_its_own_entries(multi_kb):
    assert [d.number for d in multi_kb.documents()] == [PLAN_NUMBER, SECOND_NUMBER]
    assert multi_kb.document().number == PLAN_NUMBER  # the first document is the default
    assert multi_kb.item(1).source()["document"] == PLAN_NUMBER
    second = multi_kb.item(1, document=SECOND_NUMBER)
    assert second.key == f"{SECOND_NUMBER}#1"
    assert second.source()["document"] == SECOND_NUMBER
    assert second.title == "建设剪纸刺绣工坊"
    assert len(multi_kb.entries(kind="item", document=SECOND_NUMBER)) == 2
    assert len(multi_kb.entries(kind="item", document=PLAN_NUMBER)) == 22


def test_answers_name_their_own_document(multi_kb):
    [hit] = multi_kb.search("剪纸刺绣作品展销", limit=1)
    assert hit.entry.key == f"{SECOND_NUMBER}#2"
    assert hit.source()["document"] == SECOND_NUMBER
    assert multi_kb.search("盲人医疗按摩考试", limit=1)[0].source()["document"] == PLAN_NUMBER


def test_departments_span_documents(multi_kb):
    department = multi_kb.department("市文旅局")
    assert f"{SECOND_NUMBER}#1" in department.keys and f"{PLAN_NUMBER}#5" in department.keys
    assert multi_kb.department("市商务局").keys == [f"{SECOND_NUMBER}#2"]
    assert multi_kb.document(SECOND_NUMBER).implements == PLAN_NUMBER
