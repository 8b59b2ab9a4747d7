"""knowledge.answering.respond on a throwaway knowledge base built from the real plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge import wording
from knowledge.answering import Answer, Context, respond, topics
from knowledge.build import build
from knowledge.store import open_kb

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "knowledge" / "sources" / "hs-2022-60.md"
DOC = "黄政办发〔2022〕60号"


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    path = build(
        sources=[PLAN],
        db_path=tmp_path_factory.mktemp("kb") / "knowledge.db",
        tagger=lambda sentence: [],
    )
    return open_kb(path)


def ask(kb, text, intent, confidence=0.95, entities=None, context=None) -> Answer:
    return respond(text, intent, confidence, entities or [], context, kb=kb)


def first_key(answer: Answer) -> str:
    assert answer.sources, answer.text
    return answer.sources[0]["key"].rpartition("#")[2]


def quoted_sentences(answer: Answer) -> str:
    first = answer.text.splitlines()[0]
    assert first.startswith(wording.ANSWER_LEAD)
    return first.removeprefix(wording.ANSWER_LEAD)


def test_blind_massage_example_quotes_the_one_sentence_that_answers(kb):
    answer = ask(
        kb,
        "我是盲人，想考医疗按摩的证，去哪报名？",
        "ask_blind_massage",
        0.93,
        [{"entity": "group", "value": "盲人"}],
    )
    lines = answer.text.splitlines()
    assert lines[0] == (
        "根据方案，组织盲人参加盲人医疗按摩人员考试、资格审核、继续教育和职称评审等，"
        "支持盲人医疗按摩人员开办医疗按摩所和进入医疗机构就业。"
    )
    assert lines[1] == "依据：黄政办发〔2022〕60号 二（八）第13条"
    assert lines[2] == "负责部门：各县（市、区）人民政府、市残联、市人社局、市卫健委"
    assert wording.PERIOD_LINE in lines
    assert answer.kind == "answer" and not answer.handoff
    assert answer.keys == [f"{DOC}#13"] and first_key(answer) == "13"
    assert [b["payload"] for b in answer.buttons] == [
        "/ask_detail",
        "/ask_responsible",
        "/ask_more",
    ]


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("卖烟的零售许可证残疾人好办吗", "ask_tobacco_permit", "2"),
        ("盲人保健按摩有没有行业标准", "ask_blind_massage", "14"),
        ("阳光家园辅助性就业", "ask_supported_employment", "6"),
        ("就业辅导员是干什么的", "ask_job_coach", "18"),
        ("职业院校能多招残疾学生吗", "ask_training", "22"),
        ("残疾人大学生离校后还有就业服务吗", "ask_graduate", "12"),
        ("农村残疾人搞养殖有扶持吗", "ask_rural", "8"),
        ("超比例安排残疾人的单位有奖励吗", "ask_employer_reward", "三（二）"),
    ],
)
def test_policy_questions_cite_the_entry_that_answers_them(kb, text, intent, expected):
    answer = ask(kb, text, intent)
    assert first_key(answer) == expected
    entry = kb.entry(answer.sources[0]["key"])
    quoted = quoted_sentences(answer)
    # Word for word: the quote is one or more of the entry's own sentences, in order.
    assert quoted in "".join(entry.sentences) or all(
        s in entry.sentences for s in re.findall(r"[^。；]+[。；]", quoted)
    )
    assert 1 <= len(re.findall(r"[。；]", quoted)) <= 3


def test_follow_ups_use_the_conversation(kb):
    first = ask(kb, "盲人想考医疗按摩的证", "ask_blind_massage")
    context = Context(last_keys=first.keys, last_query=first.query, shown_keys=first.keys)

    who = ask(kb, "那找谁？", "ask_responsible", context=context)
    assert who.kind == "departments" and first_key(who) == "13"
    assert "市卫健委" in who.text and "市人社局" in who.text

    detail = ask(kb, "详细说说", "ask_detail", context=context)
    assert detail.kind == "detail" and first_key(detail) == "13"
    assert "应培尽培" in detail.text  # the full item, not only the quoted sentence

    more = ask(kb, "还有别的吗", "ask_more", context=context)
    assert more.kind == "more" and first_key(more) == "14"
    assert more.keys[0] not in context.shown_keys


def test_more_never_repeats_and_ends(kb):
    context = Context(last_keys=[f"{DOC}#13"], last_query="盲人按摩", shown_keys=[f"{DOC}#13"])
    seen = set(context.shown_keys)
    for _ in range(30):
        more = ask(kb, "还有别的吗", "ask_more", context=context)
        if not more.sources:
            assert more.text == wording.NOTHING_MORE
            break
        assert more.keys[0] not in seen
        seen.add(more.keys[0])
        context = Context(
            last_keys=more.keys,
            last_query=context.last_query,
            shown_keys=[*context.shown_keys, *more.keys],
        )
    else:
        pytest.fail("还有别的吗 never ran out")


def test_follow_up_without_conversation_asks_what_is_meant(kb):
    answer = ask(kb, "那找谁？", "ask_responsible")
    assert answer.kind == "no_answer" and answer.sources == []


def test_follow_up_naming_a_topic_answers_that_topic(kb):
    context = Context(last_keys=[f"{DOC}#13"], last_query="盲人按摩", shown_keys=[f"{DOC}#13"])
    answer = ask(kb, "那卷烟零售点找谁", "ask_responsible", context=context)
    assert first_key(answer) == "2" and "市烟草专卖局" in answer.text


def test_generic_subsidy_question_is_clarified_not_guessed(kb):
    answer = ask(kb, "有什么补贴？", "ask_subsidy")
    assert answer.kind == "clarify" and answer.sources == [] and not answer.handoff
    payloads = " ".join(b["payload"] for b in answer.buttons)
    for suffix in ("#21", "#7", "#19", "#10", "#三（二）"):
        assert f'{DOC}{suffix}"' in payloads
    assert all(b["payload"].startswith('/ask_item{"entry":') for b in answer.buttons)


def test_clarify_button_answers_with_the_subsidy_sentence(kb):
    answer = ask(
        kb,
        '/ask_item{"entry":"黄政办发〔2022〕60号#21","topic":"职业技能鉴定补贴"}',
        "ask_item",
        1.0,
        [
            {"entity": "entry", "value": f"{DOC}#21"},
            {"entity": "topic", "value": "职业技能鉴定补贴"},
        ],
    )
    assert first_key(answer) == "21" and "职业技能鉴定补贴" in quoted_sentences(answer)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("公益性岗位补贴怎么领", "7"),
        ("考了职业技能等级证书有鉴定补贴吗", "21"),
        ("参加培训有生活费补贴吗", "21"),
    ],
)
def test_a_named_subsidy_is_answered_directly(kb, text, expected):
    answer = ask(kb, text, "ask_subsidy")
    assert answer.kind == "answer" and first_key(answer) == expected


def test_low_confidence_offers_the_two_best_candidates(kb):
    answer = ask(kb, "盲人医疗按摩", "ask_training", 0.2)
    assert answer.kind == "candidates" and len(answer.buttons) == 2
    assert first_key(answer) == "13"
    assert [s["key"] for s in answer.sources] == [
        b["payload"].split('"entry":"')[1].rstrip('"}') for b in answer.buttons
    ]
    assert answer.text.startswith("您是想问")


def test_nothing_fits_hands_off(kb):
    answer = ask(kb, "啦啦啦哈哈", "nlu_fallback", 0.1)
    assert answer.handoff and answer.sources == [] and wording.HOTLINE in answer.text


@pytest.mark.parametrize(
    "text, intent",
    [
        ("残疾证怎么办", "out_of_scope"),
        ("明天天气怎么样", "out_of_scope"),
        ("武汉的残疾人就业有什么补贴", "ask_subsidy"),
    ],
)
def test_out_of_scope_cites_nothing_and_points_to_help(kb, text, intent):
    answer = ask(kb, text, intent)
    assert answer.kind == "out_of_scope" and answer.sources == [] and not answer.keys
    assert wording.HOTLINE in answer.text and wording.LOCAL_FEDERATION in answer.text


def test_document_facts_say_the_period_has_ended(kb):
    answer = ask(kb, "这个文件是哪天发的", "ask_document")
    assert first_key(answer) == "document"
    assert DOC in answer.text and "2022年11月28日" in answer.text
    assert wording.PERIOD_ENDED in answer.text


def test_targets_are_quoted_verbatim(kb):
    overall = ask(kb, "方案的目标是什么", "ask_targets")
    assert first_key(overall) == "target-2500"
    assert "2022-2024年共实现全市城乡新增残疾人就业2500人" in overall.text
    rural = ask(kb, "农村残疾人就业目标多少人", "ask_targets")
    assert first_key(rural) == "target-rural-1500"
    assert kb.entry(f"{DOC}#target-rural-1500").text in rural.text


def test_department_question_lists_its_items(kb):
    answer = ask(
        kb,
        "市卫健委在这个方案里管什么？",
        "ask_department",
        entities=[{"entity": "department", "value": "市卫健委"}],
    )
    assert answer.kind == "department"
    assert [first_key(Answer("", sources=[s])) for s in answer.sources] == ["13", "14"]
    assert all("市卫健委" in s["departments"] for s in answer.sources)


@pytest.mark.parametrize(
    "entities, text, expected",
    [
        ([{"entity": "item_number", "value": "十三"}], "第十三条说的什么", "13"),
        ([], "第21条讲什么", "21"),
        ([{"entity": "entry", "value": f"{DOC}#三（四）"}], "/ask_item", "三（四）"),
    ],
)
def test_item_questions(kb, entities, text, expected):
    assert first_key(ask(kb, text, "ask_item", entities=entities)) == expected


def test_small_talk_and_hand_off_use_domain_responses(kb):
    greet = ask(kb, "你好", "greet")
    assert greet.kind == "smalltalk" and greet.response == "utter_greet" and not greet.sources
    human = ask(kb, "我要找人工", "ask_human")
    assert human.handoff and human.response == "utter_handoff" and human.sources == []


def test_topics_name_only_entries_of_the_plan(kb):
    for intent, suffixes in topics().candidates.items():
        for suffix in suffixes:
            assert kb.entry(f"{DOC}#{suffix}").kind in ("item", "safeguard"), (intent, suffix)
    for kind in topics().subsidies:
        kb.entry(f"{DOC}#{kind['entry']}")


def test_answers_contain_no_number_that_is_not_in_the_plan_or_the_wording(kb):
    allowed = " ".join(f"{e.text} {e.ref} {e.document}" for e in kb.entries()) + " ".join(
        str(v) for v in vars(wording).values() if isinstance(v, str)
    )
    questions = [
        ("残联干部里残疾人要占多少", "ask_public_sector"),
        ("卖烟间距有什么照顾", "ask_tobacco_permit"),
        ("目标", "ask_targets"),
        ("发文时间", "ask_document"),
        ("有什么补贴", "ask_subsidy"),
        ("残疾证", "out_of_scope"),
    ]
    for text, intent in questions:
        answer = ask(kb, text, intent)
        for number in re.findall(r"\d+", answer.text):
            assert number in allowed, (text, number)
