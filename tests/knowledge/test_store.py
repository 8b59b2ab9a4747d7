"""The store API used by answering, the console and the CLI (docs/design.md)."""

from __future__ import annotations

import pytest

from knowledge.errors import KnowledgeBaseMissing, NotFound
from knowledge.store import open_kb

PLAN = "黄政办发〔2022〕60号"
COUNTIES = "各县（市、区）人民政府"


def test_source_shape_matches_the_contract(kb):
    assert kb.item(13).source() == {
        "document": PLAN,
        "item": 13,
        "ref": "二（八）13",
        "kind": "item",
        "title": "积极开展盲人按摩就业促进行动",
        "departments": [COUNTIES, "市残联", "市人社局", "市卫健委"],
        "key": f"{PLAN}#13",
    }


def test_entry_fields(kb):
    entry = kb.entry(f"{PLAN}#8")
    assert (entry.kind, entry.item, entry.ref, entry.value) == ("item", 8, "二（六）8", None)
    assert "帮扶带动1500名农村残疾人就业" in entry.text
    assert entry.sentences[-1] == "帮扶带动1500名农村残疾人就业。"
    assert "".join(entry.sentences) == entry.text


def test_unknown_entries_raise_not_found(kb):
    with pytest.raises(NotFound):
        kb.entry(f"{PLAN}#99")
    with pytest.raises(NotFound):
        kb.item(23)
    with pytest.raises(NotFound):
        kb.item(1, document="鄂政办发〔2022〕45号")


def test_entries_in_document_order(kb):
    items = kb.entries(kind="item")
    assert [e.item for e in items] == list(range(1, 23))
    everything = kb.entries()
    assert everything[0].kind == "document"
    assert [e.kind for e in everything].count("safeguard") == 4
    assert kb.entries(document=PLAN) == everything


def test_safeguards(kb):
    safeguards = kb.entries(kind="safeguard")
    assert [(s.key, s.ref, s.title) for s in safeguards] == [
        (f"{PLAN}#三（一）", "三（一）", "加强组织领导"),
        (f"{PLAN}#三（二）", "三（二）", "加强资金保障"),
        (f"{PLAN}#三（三）", "三（三）", "加强宣传动员"),
        (f"{PLAN}#三（四）", "三（四）", "加强监督检查"),
    ]
    assert all(s.item is None and s.departments == [] for s in safeguards)


def test_targets(kb):
    targets = {t.key.split("#")[1]: t for t in kb.targets()}
    assert {k: (t.value, t.ref) for k, t in targets.items()} == {
        "target-2500": (2500, "一"),
        "target-rural-1500": (1500, "二（六）8"),
        "target-training-1500": (1500, "二（十）21"),
    }
    assert targets["target-rural-1500"].origin == f"{PLAN}#8"
    assert targets["target-training-1500"].origin == f"{PLAN}#21"
    assert targets["target-rural-1500"].departments == kb.item(8).departments
    assert all(t.kind == "target" and t.item is None and t.text for t in targets.values())


def test_document_facts(kb):
    facts = kb.document()
    assert facts == kb.document(PLAN)
    assert (facts.number, facts.issuer, facts.date, facts.implements, facts.period) == (
        PLAN,
        "黄石市人民政府办公室",
        "2022-11-28",
        "鄂政办发〔2022〕45号",
        "2022-2024",
    )
    assert facts.title == "黄石市促进残疾人就业三年行动实施方案（2022-2024年）"
    assert "市政府各部门" in facts.addressees and "湖北理工学院" in facts.copy_to
    entry = kb.entry(f"{PLAN}#document")
    assert (entry.kind, entry.ref) == ("document", "通知")
    for fact in (PLAN, "黄石市人民政府办公室", "2022年11月28日", "鄂政办发〔2022〕45号"):
        assert fact in entry.text
    with pytest.raises(NotFound):
        kb.document("鄂政办发〔2022〕45号")


@pytest.mark.parametrize("name", ["市卫健委", "卫健委", "卫生健康委", "市卫生健康委员会"])
def test_department_by_name_or_alias(kb, name):
    department = kb.department(name)
    assert department.name == "市卫健委"
    assert department.keys == [f"{PLAN}#13", f"{PLAN}#14"]
    assert {"卫健委", "卫生健康委", "市卫生健康委员会"} <= set(department.aliases)


def test_tobacco_bureau_alias(kb):
    assert kb.department("烟草局").keys == [f"{PLAN}#2"]


def test_counties_are_a_department(kb):
    counties = kb.department(COUNTIES)
    assert counties.keys == [f"{PLAN}#{n}" for n in range(1, 23)]


def test_every_listed_department_is_known(kb):
    names = {d.name for d in kb.departments()}
    listed = {name for e in kb.entries() for name in e.departments}
    assert names == listed
    assert len(kb.department("市残联").keys) == 21  # all but item 9


def test_unknown_department(kb):
    with pytest.raises(NotFound):
        kb.department("市公安局")


def test_structure(kb):
    parts = kb.structure()
    assert [(p.ref, p.heading) for p in parts] == [
        ("一", "主要目标"),
        ("二", "主要任务"),
        ("三", "保障措施"),
    ]
    assert parts[0].keys == [f"{PLAN}#target-2500"]
    assert "2500人" in parts[0].text
    actions = parts[1].actions
    assert len(actions) == 10
    assert (actions[7].ref, actions[7].heading) == ("二（八）", "积极开展盲人按摩就业促进行动")
    assert actions[7].keys == [f"{PLAN}#13", f"{PLAN}#14"]
    assert sum(len(a.keys) for a in actions) == 22
    assert parts[2].actions == []
    assert parts[2].keys == [f"{PLAN}#三（{n}）" for n in "一二三四"]


def test_missing_knowledge_base(tmp_path):
    with pytest.raises(KnowledgeBaseMissing):
        open_kb(tmp_path / "nothing.db")


def test_not_a_knowledge_base(tmp_path):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    with pytest.raises(KnowledgeBaseMissing):
        open_kb(path)


def test_default_path_from_environment(monkeypatch, kb_path):
    monkeypatch.setenv("KNOWLEDGE_DB", str(kb_path))
    assert open_kb().path == kb_path.resolve()
    assert open_kb() is open_kb(kb_path)  # cached


def test_entries_carry_what_their_text_mentions(kb):
    blind = kb.item(13)
    assert blind.tags == {"group": ["盲人"], "topic": ["盲人医疗按摩"]}  # each value once
    assert blind.named_tags() == [("盲人", "人群"), ("盲人医疗按摩", "主题")]
    supervision = kb.entry("黄政办发〔2022〕60号#三（四）")
    assert supervision.tags["department"] == ["各县（市、区）人民政府"]
    assert kb.entry("黄政办发〔2022〕60号#document").tags == {}
