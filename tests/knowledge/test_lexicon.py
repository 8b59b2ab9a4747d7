"""The lexicon: loading, validation, normalisation and the generated Rasa files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from knowledge.lexicon import (
    LABELS,
    LEXICON_PATH,
    RASA_LOOKUPS_PATH,
    RASA_SYNONYMS_PATH,
    LexiconError,
    get_lexicon,
    load_lexicon,
    parse_lexicon,
    rasa_lookups_yaml,
    rasa_synonyms_yaml,
)

PLAN = Path(__file__).resolve().parents[2] / "knowledge" / "sources" / "hs-2022-60.md"


@pytest.fixture(scope="module")
def lex():
    return get_lexicon()


@pytest.fixture(scope="module")
def plan_text() -> str:
    return PLAN.read_text(encoding="utf-8")


# --- the word lists ------------------------------------------------------------------------------


def test_words_are_distinct_and_segmentable(lex):
    words = lex.words()
    assert len(words) > 500
    assert len(words) == len(set(words))
    assert all(len(w) > 1 for w in words)
    # Brackets can never be one jieba token, so such names stay out of the jieba word list.
    assert "各县（市、区）人民政府" not in words
    for term in ("公益性岗位", "辅助性就业", "卷烟零售点", "就业帮扶车间", "卫健委", "烟草证"):
        assert term in words


def test_departments_are_exactly_those_of_the_plan(lex, plan_text):
    lists = re.findall(r"\[责任部门：(.*?)\]", plan_text, flags=re.DOTALL)
    # split on 、 but not on the one inside 各县（市、区）人民政府
    in_plan = {name.strip() for found in lists for name in re.split(r"、(?![^（]*）)", found)}
    assert len(lists) == 22
    assert set(lex.values("department")) == in_plan


def test_every_label_has_values(lex):
    for label in LABELS:
        assert lex.values(label), label
    assert "盲人" in lex.values("group")
    assert "视力残疾" in lex.values("disability")
    assert "公益性岗位补贴" in lex.values("topic")
    with pytest.raises(KeyError):
        lex.values("departments")


@pytest.mark.parametrize(
    ("alias", "department"),
    [
        ("卫健委", "市卫健委"),
        ("市卫健委", "市卫健委"),
        ("黄石市人社局", "市人社局"),
        ("劳动局", "市人社局"),
        ("衛健委", "市卫健委"),
        (" 烟草局 ", "市烟草专卖局"),
        ("扶贫办", "市乡村振兴局"),
        ("县政府", "各县（市、区）人民政府"),
        ("残联", "市残联"),
    ],
)
def test_department_of_known_aliases(lex, alias, department):
    assert lex.department_of(alias) == department


@pytest.mark.parametrize("word", ["盲人", "天气", "", "市政府"])
def test_department_of_other_words_is_none(lex, word):
    assert lex.department_of(word) is None


# --- normalisation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "plan_words"),
    [
        ("我看不见，能办什么", "我盲人，能办什么"),
        ("我想卖烟", "我想卷烟"),
        ("忙人可以学按摩吗", "盲人可以学按摩吗"),
        ("國企招人嗎", "国有企业招聘吗"),
        ("技校有没有培训", "职业院校有没有培训"),
        ("想在抖音卖货", "想在直播带货"),
        ("我家養豬", "我家养殖"),
        ("这个归卫健委管吗", "这个归市卫健委管吗"),
        ("烟草证怎么办", "烟草专卖零售许可证怎么办"),
        ("公益岗有补贴吗", "公益性岗位有补贴吗"),
        ("残保金是什么", "残疾人就业保障金是什么"),
        ("推拿店招人吗", "盲人按摩机构招聘吗"),
        ("异地搬迁的残疾人", "易地搬迁的残疾人"),
        ("第１３条", "第13条"),
        ("我想开个小卖部卖烟", "我想开个卷烟零售点"),
        # no stutter: an abbreviation followed by the rest of its name, or adjacent repeats
        ("24365校园网络招聘有没有专场", "24365校园网络招聘服务有没有专场"),
        ("忙人医疗按摩考试怎么报名", "盲人医疗按摩怎么报名"),
        ("養雞養魚有沒有幫扶", "养殖有没有帮扶"),
    ],
)
def test_normalize_maps_everyday_words_to_the_plan(lex, said, plan_words):
    assert lex.normalize(said) == plan_words


@pytest.mark.parametrize(
    "text",
    [
        "市卫健委",
        "烟草专卖零售许可证",
        "卷烟零售点",
        "盲人医疗按摩",
        "吸烟有害健康",
        "别瞎说",
        "市人民政府",
        "个人社保补贴",
        "帮我转人工客服",
    ],
)
def test_normalize_leaves_plan_words_and_lookalikes_alone(lex, text):
    assert lex.normalize(text) == text


@pytest.mark.parametrize(
    ("said", "expanded"),
    [
        ("视力残疾", "视力残疾（盲人）"),
        ("我是视障人士", "我是视力残疾（盲人）人士"),
        ("低视力能学按摩吗", "视力残疾（盲人）能学按摩吗"),
        ("盲人和视力残疾", "盲人和视力残疾"),  # the plan's word is there already
    ],
)
def test_related_plan_words_are_added_not_substituted(lex, said, expanded):
    assert lex.normalize(said) == expanded
    assert lex.label_of("视障") == "disability"  # the entity stays a disability
    assert lex.canonical_of("低视力") == "视力残疾"


def test_permit_questions_name_the_plan_word(lex):
    assert lex.normalize("开小卖部卖烟要办什么证") == "卷烟零售点要办证"


def test_single_character_variants_replace_only_whole_tokens(lex):
    assert lex.normalize("我眼睛瞎了") == "我眼睛盲人了"
    assert lex.normalize("抽烟") == "抽烟"


def test_simplify_keeps_length_so_offsets_survive(lex):
    text = "殘疾人職業培訓補貼怎麼領？"
    simplified = lex.simplify(text)
    assert simplified == "残疾人职业培训补贴怎么领？"
    assert len(simplified) == len(text)


def test_the_plan_uses_no_character_the_table_would_change(lex, plan_text):
    assert lex.simplify(plan_text) == plan_text


def test_normalizing_the_plan_changes_only_department_aliases(lex, plan_text):
    # The same lexicon with every non-department variant removed: canonical words stay
    # (they still protect longer matches), only department aliases can still change text.
    data = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    for section in ("synonyms", "disabilities", "groups", "topics"):
        data[section] = {canonical: [] for canonical in data[section]}
    departments_only = parse_lexicon(data)
    assert lex.normalize(plan_text) == departments_only.normalize(plan_text)
    assert departments_only.normalize("各级残联") == "各级市残联"  # the one kind of change allowed


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "top level"),
        ({"wordz": []}, "unknown section"),
        ({"terms": "公益性岗位"}, "expected a list"),
        ({"terms": [""]}, "non-empty"),
        ({"terms": ["公益 岗位"]}, "whitespace"),
        ({"synonyms": ["卷烟"]}, "mapping"),
        ({"synonyms": {"卷烟": "香烟"}}, "expected a list"),
        ({"synonyms": {"卷烟": ["烟", "烟"]}}, "twice"),
        ({"synonyms": {"卷烟": ["卷烟"]}}, "itself"),
        ({"synonyms": {"卷烟": ["烟"]}, "topics": {"卷烟零售点": ["烟"]}}, "maps to both"),
        ({"synonyms": {"卷烟": ["香烟"]}, "topics": {"香烟": []}}, "also a variant"),
        ({"synonyms": {"卷烟": []}, "topics": {"卷烟": []}}, "defined twice"),
        ({"traditional": "殘残 業"}, "not a pair"),
        ({"traditional": "殘残 殘惨"}, "maps to both"),
        ({"traditional": "殘残 残惨"}, "both as traditional and simplified"),
        ({"traditional": "殘残", "terms": ["殘疾人"]}, "traditional character"),
        ({"terms": ["香烟"], "synonyms": {"卷烟": ["香烟"]}}, "also variants"),
        ({"tagged_terms": ["残疾人大学生"]}, "expected a mapping"),
        (
            {"tagged_terms": {"残疾人大学生": "高校毕业生"}, "groups": {"高校毕业生": []}},
            "not listed",
        ),
        (
            {"terms": ["残疾人大学生"], "tagged_terms": {"残疾人大学生": "大学生"}},
            "no labelled canonical",
        ),
        ({"related": ["盲人"]}, "expected a mapping"),
        ({"related": {"视力残疾": ["盲人"]}, "groups": {"盲人": []}}, "not a canonical word"),
        (
            {"disabilities": {"视力残疾": []}, "related": {"视力残疾": ["看得见"]}},
            "not other canonical words or terms",
        ),
    ],
)
def test_malformed_lexicon_is_refused_with_a_clear_message(data, message):
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(data)


def test_invalid_yaml_file_is_refused(tmp_path):
    path = tmp_path / "lexicon.yml"
    path.write_text("terms: [公益性岗位\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="not valid YAML"):
        load_lexicon(path)


def test_small_valid_lexicon_loads(tmp_path):
    path = tmp_path / "lexicon.yml"
    path.write_text(
        "terms: [阳光家园]\nsynonyms:\n  卷烟: [香烟]\ntraditional: 煙烟\n", encoding="utf-8"
    )
    small = load_lexicon(path)
    assert small.words() == ["阳光家园", "卷烟", "香烟"]
    assert small.normalize("賣香煙") == "賣卷烟"  # 賣 is not in this small table


# --- the generated Rasa files ----------------------------------------------------------------------


def test_committed_rasa_files_equal_the_generator_output(lex):
    assert RASA_SYNONYMS_PATH.read_text(encoding="utf-8") == rasa_synonyms_yaml(lex)
    assert RASA_LOOKUPS_PATH.read_text(encoding="utf-8") == rasa_lookups_yaml(lex)


def test_rasa_synonyms_cover_labelled_concepts_with_traditional_spellings(lex):
    synonyms = lex.rasa_synonyms()
    assert "卫健委" in synonyms["市卫健委"]
    assert "衛健委" in synonyms["市卫健委"]
    assert "看不见" in synonyms["盲人"]
    assert "国有企业" not in synonyms  # plain synonyms are no entity: no Rasa synonym
    for canonical, variants in synonyms.items():
        assert canonical not in variants


def test_rasa_reads_the_synonyms_file():
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().read(RASA_SYNONYMS_PATH)
    assert data.entity_synonyms["卫健委"] == "市卫健委"
    assert data.entity_synonyms["烟草证"] == "烟草专卖零售许可证"
    lookups = RasaYAMLReader().read(RASA_LOOKUPS_PATH).lookup_tables
    assert {table["name"] for table in lookups} == set(LABELS)
