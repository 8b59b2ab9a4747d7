"""The plan parsed into document facts, parts, actions, items, safeguards and targets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.errors import SourceParseError
from knowledge.parser import parse_file, parse_text, split_sentences, split_top_level

COUNTIES = "各县（市、区）人民政府"

# Read off the plan's [责任部门：…] lists, in the printed order (items 1, 2 and 11 are broken
# across pages in the source).
EXPECTED_DEPARTMENTS: dict[int, list[str]] = {
    1: [COUNTIES, "市残联", "市委组织部", "市委编办", "市人社局", "市政府国资委"],
    2: [COUNTIES, "市残联", "市政府国资委", "市人社局", "市烟草专卖局"],
    3: [COUNTIES, "市残联", "市人社局", "市经信局", "市工商联"],
    4: [COUNTIES, "市残联", "市民政局", "市市场监管局", "市人社局", "市工商联"],
    5: [COUNTIES, "市残联", "市文旅局"],
    6: [COUNTIES, "市残联", "市人社局", "市民政局"],
    7: [COUNTIES, "市残联", "市人社局"],
    8: [COUNTIES, "市残联", "市人社局", "市财政局", "市文旅局", "市农业农村局", "市乡村振兴局"],
    9: [COUNTIES, "市人社局", "市发改委", "市文旅局", "市农业农村局", "市乡村振兴局"],
    10: [COUNTIES, "市残联", "市教育局", "市人社局"],
    11: [COUNTIES, "市残联", "市人社局", "市教育局", "市政府国资委", "市工商联"],
    12: [COUNTIES, "市残联", "市教育局", "市人社局"],
    13: [COUNTIES, "市残联", "市人社局", "市卫健委"],
    14: [COUNTIES, "市残联", "市市场监管局", "市人社局", "市卫健委"],
    15: [
        COUNTIES,
        "市残联",
        "市人社局",
        "市政务和大数据局",
        "市税务局",
        "市市场监管局",
        "市退役军人局",
    ],
    16: [COUNTIES, "市残联"],
    17: [COUNTIES, "市残联", "市人社局"],
    18: [COUNTIES, "市残联", "市人社局", "市财政局"],
    19: [COUNTIES, "市残联", "市人社局", "市财政局"],
    20: [COUNTIES, "市残联", "市人社局", "市教育局"],
    21: [COUNTIES, "市残联", "市人社局", "市财政局"],
    22: [COUNTIES, "市残联", "市发改委", "市人社局", "市财政局", "市教育局"],
}

ACTION_HEADINGS = [
    ("二（一）", "积极开展机关、事业单位带头安排残疾人就业行动"),
    ("二（二）", "积极开展国有企业带头安排残疾人就业行动"),
    ("二（三）", "积极开展民营企业安排残疾人就业行动"),
    ("二（四）", "积极开展残疾人组织助残就业行动"),
    ("二（五）", "积极开展就业困难残疾人就业帮扶行动"),
    ("二（六）", "积极开展农村残疾人就业帮扶行动"),
    ("二（七）", "积极开展残疾人大学生就业帮扶行动"),
    ("二（八）", "积极开展盲人按摩就业促进行动"),
    ("二（九）", "积极开展残疾人就业服务提升行动"),
    ("二（十）", "积极开展残疾人职业技能提升行动"),
]
SAFEGUARD_HEADINGS = [
    ("三（一）", "加强组织领导"),
    ("三（二）", "加强资金保障"),
    ("三（三）", "加强宣传动员"),
    ("三（四）", "加强监督检查"),
]
# Which action each item sits under, by item numbers.
ACTION_OF_ITEMS = {
    "二（一）": [1],
    "二（二）": [2],
    "二（三）": [3, 4],
    "二（四）": [5],
    "二（五）": [6, 7],
    "二（六）": [8, 9],
    "二（七）": [10, 11, 12],
    "二（八）": [13, 14],
    "二（九）": [15, 16, 17, 18, 19],
    "二（十）": [20, 21, 22],
}


@pytest.fixture(scope="module")
def plan(plan_source):
    return parse_file(plan_source)


@pytest.fixture(scope="module")
def items(plan):
    return {e.item: e for e in plan.items}


def test_document_facts(plan):
    assert plan.number == "黄政办发〔2022〕60号"
    assert plan.title == "黄石市促进残疾人就业三年行动实施方案（2022-2024年）"
    assert plan.notice_title == (
        "市人民政府办公室关于印发黄石市促进残疾人就业三年行动实施方案（2022-2024年）的通知"
    )
    assert plan.issuer == "黄石市人民政府办公室"
    assert plan.date == "2022-11-28"
    assert plan.implements == "鄂政办发〔2022〕45号"
    assert plan.implements_title.startswith("省政府办公厅关于印发湖北省促进残疾人就业三年行动")
    assert plan.period == "2022-2024"
    assert plan.addressees == [
        "大冶市、阳新县、各区人民政府",
        "黄石经济技术开发区管委会",
        "市政府各部门",
    ]
    assert plan.copy_to == [
        "市委各部门",
        "黄石军分区",
        "各人民团体",
        "市人大常委会办公室",
        "市政协办公室",
        "市法院",
        "市检察院",
        "湖北师范大学",
        "湖北理工学院",
        "垂直管理机构",
        "有关企业",
    ]


def test_three_parts_with_headings(plan):
    assert [(p.numeral, p.heading) for p in plan.parts] == [
        ("一", "主要目标"),
        ("二", "主要任务"),
        ("三", "保障措施"),
    ]
    assert plan.parts[0].text.startswith("以有就业需求和就业条件的城乡未就业残疾人为主要对象")


def test_ten_actions_whatever_their_heading_level(plan):
    assert [(a.ref, a.heading) for a in plan.actions] == ACTION_HEADINGS


def test_four_safeguards(plan):
    safeguards = [e for e in plan.entries if e.kind == "safeguard"]
    assert [(s.suffix, s.title) for s in safeguards] == SAFEGUARD_HEADINGS
    assert all(s.ref == s.suffix and s.departments == [] for s in safeguards)
    assert safeguards[1].text.endswith("加大对超比例安排残疾人就业用人单位的奖励力度。")


def test_twenty_two_items_in_order(plan):
    assert [e.item for e in plan.items] == list(range(1, 23))
    assert [e.suffix for e in plan.items] == [str(n) for n in range(1, 23)]


@pytest.mark.parametrize("action", list(ACTION_OF_ITEMS))
def test_items_sit_under_their_action(items, action):
    heading = dict(ACTION_HEADINGS)[action]
    for number in ACTION_OF_ITEMS[action]:
        assert items[number].action == action
        assert items[number].ref == f"{action}{number}"
        assert items[number].title == heading
        assert items[number].part == "二"


@pytest.mark.parametrize("number", sorted(EXPECTED_DEPARTMENTS))
def test_departments_of_each_item_as_printed(items, number):
    assert items[number].departments == EXPECTED_DEPARTMENTS[number]


@pytest.mark.parametrize(
    ("key", "repaired"),
    [
        (1, "认真执行《湖北省机关、事业单位、国有企业带头安排残疾人就业实施办法》"),
        (2, "提供精准指导，帮助残疾人持证户规范经营"),
        (4, "创建一批带动辐射能力强"),
        (6, "抓好基础能力建设"),
        (8, "帮扶带动1500名农村残疾人就业。"),
        (15, "全国残疾人按比例就业情况联网认证系统"),
        (18, "参与协调残疾人与管理者、同事及家庭之间的关系。"),
    ],
)
def test_page_breaks_are_repaired(items, key, repaired):
    assert repaired in items[key].text


def test_safeguard_page_break_is_repaired(plan):
    publicity = next(e for e in plan.entries if e.suffix == "三（三）")
    assert "加大对残疾人就业的宣传力度。" in publicity.text


def test_item_text_has_no_number_and_no_department_list(items):
    assert items[13].text.startswith("组织盲人参加盲人医疗按摩人员考试")
    for item in items.values():
        assert "责任部门" not in item.text and "[" not in item.text and "]" not in item.text
        assert not re.search(r"\s", item.text), item.suffix
        assert item.text.endswith("。")


def test_targets(plan):
    targets = {e.suffix: e for e in plan.entries if e.kind == "target"}
    assert set(targets) == {"target-2500", "target-rural-1500", "target-training-1500"}
    assert (targets["target-2500"].value, targets["target-2500"].ref) == (2500, "一")
    assert targets["target-2500"].origin is None
    assert (targets["target-rural-1500"].value, targets["target-rural-1500"].ref) == (
        1500,
        "二（六）8",
    )
    assert targets["target-rural-1500"].origin == "8"
    assert targets["target-rural-1500"].text == "帮扶带动1500名农村残疾人就业。"
    assert targets["target-training-1500"].ref == "二（十）21"
    assert targets["target-training-1500"].origin == "21"
    assert "1500名城乡残疾人" in targets["target-training-1500"].text
    assert "新增残疾人就业2500人" in targets["target-2500"].text


def test_sentences_split_but_quotes_stay_whole():
    assert split_sentences("他说“先报名。再考试。”然后走了。好；行！真的？") == [
        "他说“先报名。再考试。”然后走了。",
        "好；",
        "行！",
        "真的？",
    ]
    assert split_sentences("没有句号的尾巴") == ["没有句号的尾巴"]


def test_item_sentences(items):
    assert split_sentences(items[13].text) == [
        (
            "组织盲人参加盲人医疗按摩人员考试、资格审核、继续教育和职称评审等，"
            "支持盲人医疗按摩人员开办医疗按摩所和进入医疗机构就业。"
        ),
        "组织盲人接受基础技能培训和技能提升培训，对就业年龄段有培训需求的盲人做到应培尽培。",
    ]


def test_department_names_with_brackets_stay_whole():
    assert split_top_level("各县（市、区）人民政府、市残联", "、") == [COUNTIES, "市残联"]


def test_heading_marks_do_not_matter(plan, plan_source):
    """Structure comes from the Chinese numbering: dropping every # changes nothing."""
    text = plan_source.read_text(encoding="utf-8")
    flat = parse_text(re.sub(r"(?m)^#+\s*", "", text), source="flat.md")
    assert [(a.ref, a.heading) for a in flat.actions] == ACTION_HEADINGS
    assert [(e.suffix, e.text, e.departments) for e in flat.entries] == [
        (e.suffix, e.text, e.departments) for e in plan.entries
    ]


# -- sources that cannot be parsed -------------------------------------------------------------


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _broken(tmp_path, plan_source, old: str, new: str):
    text = plan_source.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.md"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path, path.read_text(encoding="utf-8")


def test_unclosed_department_bracket_names_file_and_line(tmp_path, plan_source):
    path, text = _broken(
        tmp_path, plan_source, "市残联、市人社局、市卫健委]", "市残联、市人社局、市卫健委"
    )
    with pytest.raises(SourceParseError) as caught:
        parse_file(path)
    line = _line_of(text, "[责任部门：各县（市、区）人民政府、市残联、市人社局、市卫健委")
    assert caught.value.path == str(path) and caught.value.line == line
    assert f"{path}:{line}:" in str(caught.value) and "unclosed" in str(caught.value)


def test_item_without_departments_names_file_and_line(tmp_path, plan_source):
    old = "[责任部门：各县（市、区）人民政府、市残联]"  # item 16
    path, text = _broken(tmp_path, plan_source, old, "")
    with pytest.raises(SourceParseError) as caught:
        parse_file(path)
    assert caught.value.line == _line_of(text, "16. 开展残疾人就业服务")
    assert str(path) in str(caught.value) and "责任部门" in str(caught.value)


def test_source_without_numbered_items_fails(tmp_path):
    path = tmp_path / "empty.md"
    path.write_text(
        "黄政办发〔2022〕99号\n\n## 一、主要目标\n\n只有目标，没有任务。\n", encoding="utf-8"
    )
    with pytest.raises(SourceParseError) as caught:
        parse_file(path)
    assert caught.value.line == 3
    assert f"{path}:3:" in str(caught.value) and "no numbered items" in str(caught.value)


def test_text_that_is_no_plan_fails(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("随便写的一段话。\n", encoding="utf-8")
    with pytest.raises(SourceParseError, match=re.escape(f"{path}:1:")):
        parse_file(path)


def test_duplicate_item_number_fails(tmp_path, plan_source):
    path, text = _broken(tmp_path, plan_source, "14. 推动盲人保健", "13. 推动盲人保健")
    with pytest.raises(SourceParseError, match="appears twice") as caught:
        parse_file(path)
    assert caught.value.line == _line_of(text, "13. 推动盲人保健")


def test_second_document():
    doc = parse_file(Path(__file__).parent / "fixtures" / "second-plan.md")
    assert doc.number == "黄残联发〔2023〕7号"
    assert doc.implements == "黄政办发〔2022〕60号"
    assert doc.period == "2023-2025" and doc.date == "2023-03-15"
    assert [e.departments for e in doc.items] == [
        ["各县（市、区）残联", "市文旅局"],
        ["市残联", "市商务局"],
    ]
    assert "建设一个残疾人剪纸刺绣工坊" in doc.items[0].text
    assert [e.suffix for e in doc.entries if e.kind == "target"] == ["target-300"]
