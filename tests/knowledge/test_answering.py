"""knowledge.answering.respond on a throwaway knowledge base built from the real plan (`kb`, the
session's: tests/conftest.py)."""

from __future__ import annotations

import re

import pytest

from knowledge import wording
from knowledge.answering import (
    Answer,
    Context,
    compose,
    cues,
    details,
    parse_reference,
    respond,
    topics,
)
from knowledge.answering.question import Question, asking_part
from knowledge.lexicon import get_lexicon

DOC = "黄政办发〔2022〕60号"


def lex_normalize(text: str) -> str:
    return get_lexicon().normalize(text)


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
    assert wording.PERIOD_LINE.format(period="2022-2024") in lines
    assert answer.kind == "answer" and not answer.handoff
    assert answer.keys == [f"{DOC}#13"] and first_key(answer) == "13"
    # 详细说说 and 找谁办 name their entry, so they still mean this answer when pressed later.
    assert [b["payload"] for b in answer.buttons] == [
        '/ask_detail{"entry":"黄政办发〔2022〕60号#13"}',
        '/ask_responsible{"entry":"黄政办发〔2022〕60号#13"}',
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


def test_a_first_question_that_only_sounds_like_a_follow_up_is_weighed_not_refused(kb):
    from knowledge.answering import followups

    said = "这么多部门管，到底谁来统一协调？"
    question = Question.of(said, "ask_responsible", 0.85)
    assert followups.follow_up_unless_alone(kb, question, Context()) is None
    assert ask(kb, said, "ask_responsible", 0.85).kind != "no_answer"
    # After an answer it is a follow-up on that answer again.
    earlier = Context(last_keys=[f"{DOC}#13"], last_query="盲人按摩", shown_keys=[f"{DOC}#13"])
    assert followups.follow_up_unless_alone(kb, question, earlier) is not None
    # A bare follow-up has no words of its own to weigh.
    bare = Question.of("那找谁？", "ask_responsible", 0.9)
    assert followups.follow_up_unless_alone(kb, bare, Context()) is not None


def test_a_first_question_about_who_issued_the_plan_is_not_taken_for_a_follow_up(kb):
    from knowledge.answering import followups

    said = "这个方案是哪个部门发的？"
    question = Question.of(said, "ask_responsible", 0.74)
    assert followups.follow_up_unless_alone(kb, question, Context()) is None
    assert ask(kb, said, "ask_responsible", 0.74).kind != "no_answer"
    # Without the plan named, "which department?" still asks what is meant.
    bare = Question.of("哪个部门负责？", "ask_responsible", 0.9)
    assert followups.follow_up_unless_alone(kb, bare, Context()).kind == "no_answer"


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


def test_asking_back_offers_named_entries_as_buttons_only(kb):
    answer = compose.candidates(kb, [f"{DOC}#13", f"{DOC}#14"], "盲人按摩")
    assert answer.kind == "candidates" and len(answer.buttons) == 2
    # An offer cites nothing (docs/design.md: sources are [] when nothing is cited).
    assert answer.sources == [] and answer.keys == []
    payloads = [b["payload"].split('"entry":"')[1].rstrip('"}') for b in answer.buttons]
    assert payloads == [f"{DOC}#13", f"{DOC}#14"]
    assert answer.text.startswith("您是想问")
    many = compose.candidates(kb, [f"{DOC}#{n}" for n in range(1, 8)], "就业")
    assert len(many.buttons) == compose.MOST_CITED


def test_a_guess_with_one_clear_match_is_answered(kb):
    answer = ask(kb, "残疾人按比例就业情况联网认证系统", "nlu_fallback", 0.3)
    assert answer.kind == "answer" and first_key(answer) == "15"


def test_confident_small_talk_is_small_talk(kb):
    answer = ask(kb, "再见", "goodbye", 0.97)
    assert answer.kind == "smalltalk" and answer.response == "utter_goodbye"


def test_problem_is_a_generic_word(kb):
    assert "问题" in topics().generic
    # 智力有点问题 is not about 三（四）'s "…解决…问题".
    answer = ask(kb, "我家孩子有点问题，能去哪里", "nlu_fallback", 0.3)
    assert all("三（四）" not in b["payload"] for b in answer.buttons)
    assert answer.sources == []


def test_nothing_fits_is_not_answered_from_the_plan(kb):
    answer = ask(kb, "啦啦啦哈哈", "out_of_scope", 0.6)
    assert answer.sources == [] and not answer.buttons and wording.HOTLINE in answer.text


@pytest.mark.parametrize(
    "text, intent",
    [
        ("残疾证怎么办", "out_of_scope"),
        ("明天天气怎么样", "out_of_scope"),
    ],
)
def test_out_of_scope_cites_nothing_and_points_to_help(kb, text, intent):
    answer = ask(kb, text, intent)
    assert answer.kind == "out_of_scope" and answer.sources == [] and not answer.keys
    assert wording.HOTLINE in answer.text and wording.LOCAL_FEDERATION in answer.text
    assert "《黄石市促进残疾人就业三年行动实施方案（2022-2024年）》" in answer.text
    assert answer.response_vars == {"plan_title": kb.document().title}


@pytest.mark.parametrize(
    "text, first_line_has",
    [
        ("这个文件发给谁", "主送：大冶市、阳新县、各区人民政府"),
        ("抄送了哪些单位", "抄送：市委各部门"),
        ("文件什么时候印发的", "于2022年11月28日印发"),
        ("是谁发的文件", "由黄石市人民政府办公室印发"),
        ("文号是多少", "的文号是黄政办发〔2022〕60号"),
        ("依据哪个文件制定的", "鄂政办发〔2022〕45号"),
        ("方案什么时候到期", "实施期为2022-2024年。方案的实施期已经结束"),
        ("现在还有效吗", "实施期已经结束"),
    ],
)
def test_document_answers_the_fact_asked_first(kb, text, first_line_has):
    answer = ask(kb, text, "ask_document")
    assert first_key(answer) == "document"
    assert first_line_has in answer.text.splitlines()[0]


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


def test_a_number_only_some_targets_state_names_those_targets(kb):
    from knowledge.answering import compose

    def cited(text):
        return [
            k.rpartition("#")[2]
            for k in compose.targets(kb, Question.of(text, "ask_targets", 0.9)).keys
        ]

    assert cited("方案里那个1500人指的是什么？") == ["target-rural-1500", "target-training-1500"]
    assert cited("2500人是全市的吗") == ["target-2500"]
    assert cited("培训那1500人是城里乡下一起算的吗") == ["target-training-1500"]
    # Words of one target do not override the number of another.
    assert cited("农村那2500人") == ["target-2500"]
    # A year is not a count: every target is in 2022-2024.
    assert len(cited("2022年的目标是什么")) == 3


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
    # Each item by its ref and the start of its own first sentence, not the shared heading.
    lines = answer.text.splitlines()[1:]
    assert lines == [
        "· 二（八）第13条：组织盲人参加盲人医疗按摩人员考试、资格审核、继续教育和职称评审等，支持盲人医疗按…",
        "· 二（八）第14条：推动盲人保健按摩行业标准化建设，规范盲人按摩机构的建设与服务，努力向规范化管理…",
    ]
    assert "积极开展盲人按摩就业促进行动" not in answer.text


@pytest.mark.parametrize(
    "text, office",
    [
        ("市公安局在这个方案里管什么？", "公安局"),
        ("市交通运输局负责什么", "交通运输局"),
        ("住建局的职责", "住建局"),
        ("交通局在里面干么事", "交通局"),
    ],
)
def test_an_office_the_plan_does_not_list_is_not_answered_with_a_clause(kb, text, office):
    answer = ask(kb, text, "ask_department")
    assert answer.kind == "out_of_scope" and answer.sources == [], answer.text
    assert f"没有{office}" in answer.text and "12385" in answer.text


def test_offices_the_plan_lists_or_other_questions_naming_an_office_are_answered(kb):
    # The plan lists 市税务局 (alias 税务局): its page of entries, not "not listed".
    assert ask(kb, "税务局在这个方案里管什么", "ask_department").kind == "department"
    # Naming an office without asking its duties is an ordinary question: item 1 (机关带头).
    answer = ask(kb, "公安局招残疾人吗", "ask_public_sector")
    assert "方案列出的责任部门里没有" not in answer.text
    assert first_key(answer) == "1"


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


@pytest.mark.parametrize(
    "text, expected",
    [
        ("第13条", "13"),
        ("第十三项是什么", "13"),
        ("第 2 条", "2"),
        ("第廿一条", "21"),
        ("二（八）13", "13"),
        ("二(十)第21条说的啥", "21"),
        ("三（二）说什么", "三（二）"),
        ("三(四)", "三（四）"),
        ("第三部分第二条讲什么", "三（二）"),
        ("保障措施第三条", "三（三）"),
        ("保障措施里的第一项", "三（一）"),
        ("二（八）", "二（八）"),
        ("保障措施三（二）", "三（二）"),
        ("保障措施的第十二条", None),
        ("盲人按摩有什么支持", None),
        ("2022年的方案", None),
    ],
)
def test_parse_reference(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("第三部分第二条讲什么", "ask_item", "三（二）"),
        ("保障措施第三条", "ask_safeguards", "三（三）"),
        ("三（二）说什么", "ask_department", "三（二）"),
        ("第13条", "greet", "13"),
        ("二（八）", "ask_item", "13"),
    ],
)
def test_an_explicit_reference_is_resolved_before_the_intent(kb, text, intent, expected):
    answer = ask(kb, text, intent, 0.7)
    assert answer.kind == "answer" and first_key(answer) == expected


def test_who_is_responsible_for_a_referenced_item_on_a_first_turn(kb):
    for intent in ("ask_responsible", "ask_department", "ask_item"):
        answer = ask(kb, "第十三条谁负责", intent)
        assert answer.kind == "departments" and first_key(answer) == "13"
        assert "市卫健委" in answer.text


def test_more_after_a_target_offers_the_other_targets_only(kb):
    rural = ask(kb, "农村残疾人就业目标多少人", "ask_targets")
    context = Context(last_keys=rural.keys, last_query=rural.query, shown_keys=rural.keys)
    more = ask(kb, "还有别的吗", "ask_more", context=context)
    assert more.kind == "more" and first_key(more) == "target-2500"
    overall = ask(kb, "方案的目标是什么", "ask_targets")
    context = Context(last_keys=overall.keys, last_query=overall.query, shown_keys=overall.keys)
    more = ask(kb, "还有别的吗", "ask_more", context=context)
    assert more.kind == "more" and more.sources == [] and more.text == wording.NOTHING_MORE


def test_more_needs_real_overlap(kb):
    # 目标 alone is shared by item 14 ("…的目标要求迈进"); that is not more of the same.
    context = Context(
        last_keys=[f"{DOC}#13"], last_query="盲人按摩的目标", shown_keys=[f"{DOC}#13"]
    )
    seen = []
    for _ in range(5):
        more = ask(kb, "还有别的吗", "ask_more", context=context)
        if not more.sources:
            break
        seen.append(first_key(more))
        context = Context(more.keys, context.last_query, [*context.shown_keys, *more.keys])
    assert seen == ["14"]


def test_the_permit_question_quotes_the_permit_sentence(kb):
    answer = ask(kb, "开小卖部卖烟要办什么证", "ask_tobacco_permit")
    assert first_key(answer) == "2"
    assert "为残疾人办理烟草专卖零售许可证提供“一站式”办证便利服务。" in quoted_sentences(answer)


def test_visual_disability_finds_the_blind_items(kb):
    hits = kb.search(lex_normalize("视力残疾"), limit=3)
    assert hits and hits[0].entry.key in (f"{DOC}#13", f"{DOC}#14")
    answer = ask(kb, "低视力的人能学按摩吗", "ask_blind_massage", 0.6)
    assert first_key(answer) in ("13", "14")


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


def test_period_and_title_come_from_the_cited_document(multi_kb):
    second = "黄残联发〔2023〕7号"
    entry = multi_kb.entry(f"{second}#1")
    answer = respond(
        "剪纸刺绣工坊", "ask_item", 0.95, [{"entity": "entry", "value": entry.key}], kb=multi_kb
    )
    assert first_key(answer) == "1" and answer.sources[0]["document"] == second
    assert wording.PERIOD_LINE.format(period="2023-2025") in answer.text
    assert "2022-2024" not in answer.text
    plan = respond("第13条", "ask_item", 0.95, [], kb=multi_kb)
    assert wording.PERIOD_LINE.format(period="2022-2024") in plan.text
    outside = respond("残疾证怎么办", "out_of_scope", 0.95, [], kb=multi_kb)
    assert multi_kb.document().title in outside.text


# --- a new user's trial -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["转人工", "我要找真人"])
def test_a_wish_for_a_person_promises_no_transfer(kb, text):
    answer = ask(kb, text, "ask_human", 0.98)
    assert answer.handoff and answer.kind == "handoff" and answer.sources == []
    assert answer.response == "utter_handoff"
    # There is no live agent online: no "正在为您转接", but the hotline and 当地残联.
    assert "正在为您转接" not in answer.text and "没有人工客服" in answer.text
    assert wording.HOTLINE_NAME + wording.HOTLINE in answer.text
    assert wording.LOCAL_FEDERATION in answer.text


@pytest.mark.parametrize(
    "text, intent, confidence",
    [
        ("残联电话多少", "ask_human", 0.99),
        ("人社局电话", "ask_human", 0.4),
        ("人社局电话是多少", "ask_human", 0.55),
        ("市残联的联系电话", "out_of_scope", 0.9),
        ("人社局电话", "ask_department", 0.7),
        ("人社局电话", "nlu_fallback", 0.3),
    ],
)
def test_a_phone_number_asked_for_is_not_in_the_plan(kb, text, intent, confidence):
    answer = ask(kb, text, intent, confidence, [{"entity": "department", "value": "市人社局"}])
    assert answer.handoff and answer.sources == [] and answer.response == "utter_contact"
    assert answer.kind == "out_of_scope"  # not in the plan: one of the unanswered questions
    assert answer.text == wording.NO_PHONE
    assert "方案里没有写" in answer.text and "电话号码" in answer.text
    # The only number said is the national hotline: no local number is ever made up.
    assert re.findall(r"\d+", answer.text) == [wording.HOTLINE]
    assert wording.LOCAL_FEDERATION in answer.text


@pytest.mark.parametrize(
    "text",
    [
        "黄石市残联电话",
        "能给个联系电话吗，我想打电话问",
        "能不能直接让我跟残联的工作人员通个电话，号码是多少？",
        "能不能给我一个能打通的咨询电话",
        "黄石市残疾人就业服务中心的具体地址和电话是多少？",
    ],
)
def test_asking_for_a_number_is_a_phone_question(text):
    assert cues.asks_for_phone(text)


@pytest.mark.parametrize(
    "text",
    [
        # A call someone got or a job on the phone is part of a plan question, not a request.
        "社区打电话说要给我做就业需求登记，这是什么政策，登记了有啥用？",
        "坐轮椅能在家接客服电话吗",
        "热线记录：来电人为肢体残疾，询问残疾人申请卷烟零售点有无间距上的照顾",
        "能不能让工作人员给我回个电话",
    ],
)
def test_a_phone_mentioned_in_passing_is_not_a_phone_question(text):
    assert not cues.asks_for_phone(text)


@pytest.mark.parametrize(
    "text, elsewhere",
    [
        ("武汉市残疾人就业有什么政策", True),
        ("咸宁有没有残疾人公益岗", True),
        ("我是黄石人，在武汉读完研究生，想回黄石进机关", False),
        ("阳新县残疾人创业有扶持吗", False),
        ("残疾人创业有扶持吗", False),
    ],
)
def test_a_question_about_another_place_only(text, elsewhere):
    assert cues.elsewhere_only(Question.of(text, None, None)) is elsewhere


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("就业帮扶车间认定标准", ["requirements"]),
        ("按比例就业年审流程", ["requirements"]),
        ("民营企业没按比例安排残疾人会罚款吗", ["penalty"]),
        ("考编残疾人能加分吗", ["exam_bonus"]),
        ("补贴奖励的实施办法出台了没有", ["outcome"]),
        ("就业援助月是么时候", ["time"]),
        ("老板总是扣我工资，该去哪里投诉", ["redress"]),
        ("盲人按摩有什么支持", []),
    ],
)
def test_the_kinds_of_detail_asked(text, kinds):
    assert details.detail_asked(Question.of(text, None, None)) == kinds


def test_a_share_asked_for_is_an_amount():
    assert cues.asks_for_amount("安排残疾人就业的比例到底是百分之几") == "number"


def test_hubeis_how_much_money_is_an_amount():
    assert cues.asks_for_amount("见习补贴一个月好多钱") == "money"
    assert cues.asks_for_amount("好多残疾人都想学按摩") is None


def test_a_call_from_the_federation_is_still_a_plan_question(kb):
    answer = ask(kb, "残联的人打电话来核对我的基础信息，这是做什么的", "ask_human", 0.5)
    assert answer.kind == "answer" and first_key(answer) == "16"
    assert ask(kb, "能不能让工作人员给我回个电话", "ask_human", 0.9).response == "utter_handoff"


@pytest.mark.parametrize(
    "text, intent, confidence, expected",
    [
        ("公益岗 补贴多少钱", "ask_subsidy", 0.97, "7"),
        ("公益岗 补贴多少钱", "ask_public_welfare_post", 0.9, "7"),
        ("培训有生活费补贴吗，补多少钱", "ask_training", 0.96, "21"),
        ("培训补贴标准是什么", "ask_training", 0.9, "21"),
        ("公益岗补贴一个月几多", "ask_public_welfare_post", 0.9, "7"),
        ("公益岗一个月几个钱", "ask_public_welfare_post", 0.9, "7"),
    ],
)
def test_an_amount_the_plan_does_not_state_is_not_covered(kb, text, intent, confidence, expected):
    answer = ask(kb, text, intent, confidence)
    # Not guessed and no clause quoted as if it answered: the plan states no amount.
    assert answer.kind == "out_of_scope" and answer.sources == [] and not answer.keys
    assert answer.text.startswith(wording.NOT_COVERED_AMOUNT)
    assert wording.HOTLINE in answer.text and wording.LOCAL_FEDERATION in answer.text
    # The nearby entry the plan does have is one tap away.
    [button] = answer.buttons
    assert button["payload"] == f'/ask_item{{"entry":"{DOC}#{expected}"}}'
    assert button["title"].startswith("方案里相关的：")


def test_a_generic_amount_question_is_clarified_with_the_same_plain_line(kb):
    answer = compose.with_amount_note(
        kb, Question.of("标准是多少", "ask_subsidy", 0.9), compose.clarify_subsidy(kb)
    )
    assert answer.kind == "clarify" and answer.sources == []
    assert wording.NO_AMOUNT in answer.text.splitlines()


@pytest.mark.parametrize(
    "text, intent",
    [
        ("残联自己的干部里面残疾人要占多少比例", "ask_public_sector"),
        ("残疾人卖烟的间距标准是按百分之多少算的", "ask_tobacco_permit"),
        ("农村残疾人就业目标多少人", "ask_targets"),
        ("三年一共要新增多少残疾人就业", "ask_targets"),
        ("盲人保健按摩店有没有行业标准", "ask_blind_massage"),
        ("文号是多少", "ask_document"),
        ("公益性岗位补贴", "ask_subsidy"),
    ],
)
def test_no_amount_line_when_the_plan_states_the_number_or_none_is_asked(kb, text, intent):
    answer = ask(kb, text, intent)
    assert answer.sources and wording.NO_AMOUNT not in answer.text


def test_candidate_buttons_are_told_apart_by_their_words(kb):
    answer = compose.candidates(kb, [f"{DOC}#13", f"{DOC}#14"], "盲人按摩")
    titles = [b["title"] for b in answer.buttons]
    assert len(set(titles)) == len(titles) == 2
    by_key = {b["payload"].split('"entry":"')[1].rstrip('"}'): b["title"] for b in answer.buttons}
    assert by_key[f"{DOC}#13"] == "二（八）13 组织盲人参加盲人医疗按摩人员考试、资格审核…"
    assert by_key[f"{DOC}#14"] == "二（八）14 推动盲人保健按摩行业标准化建设…"
    for key, title in by_key.items():
        entry = kb.entry(key)
        ref, _, words = title.partition(" ")
        assert ref == entry.ref
        # Verbatim: the start of the item's first sentence, at most 24 characters and …
        assert words.endswith(wording.ELLIPSIS) and len(words) <= 25
        assert entry.sentences[0].startswith(words.removesuffix(wording.ELLIPSIS))


def test_detail_of_a_named_entry_is_that_entry_not_the_last_answer(kb):
    context = Context(last_keys=[f"{DOC}#13"], last_query="盲人按摩", shown_keys=[f"{DOC}#13"])
    payload = '/ask_detail{"entry":"黄政办发〔2022〕60号#14"}'
    detail = ask(
        kb, payload, "ask_detail", 1.0, [{"entity": "entry", "value": f"{DOC}#14"}], context
    )
    assert detail.kind == "detail" and detail.keys == [f"{DOC}#14"] and first_key(detail) == "14"
    assert kb.entry(f"{DOC}#14").text.split("[")[0].strip()[:30] in detail.text
    assert "应培尽培" not in detail.text  # not item 13, the last answer
    assert detail.query == "盲人按摩"  # the conversation's question carries on
    # On a first turn too, and an unknown key falls back to the conversation.
    first = ask(kb, payload, "ask_detail", 1.0, [{"entity": "entry", "value": f"{DOC}#14"}])
    assert first.kind == "detail" and first_key(first) == "14"
    unknown = [{"entity": "entry", "value": f"{DOC}#99"}]
    assert first_key(ask(kb, "/ask_detail", "ask_detail", 1.0, unknown, context)) == "13"


def test_the_period_is_said_once(kb):
    answer = ask(kb, "方案什么时候到期", "ask_document", 0.99)
    title = kb.document().title
    assert "2022-2024" in title
    without_titles = answer.text.replace(title, "").replace(
        "湖北省促进残疾人就业三年行动实施方案（2022-2024年）", ""
    )
    assert without_titles.count("2022-2024") == 1
    assert answer.text.count(wording.PERIOD_ENDED) == 1
    assert answer.text.splitlines()[0].endswith(wording.PERIOD_ENDED)
    # Every other line is the document's own record, without a second period.
    assert "实施期为" not in answer.text.splitlines()[1]
    assert "2022年11月28日" in answer.text and first_key(answer) == "document"


def test_buttons_under_an_older_answer_still_mean_that_answer(kb):
    tobacco = respond("开小卖部卖烟要办什么证", "ask_tobacco_permit", 0.9, [], None, kb=kb)
    later = Context(last_keys=[f"{DOC}#13"], last_query="盲人按摩考试", shown_keys=[f"{DOC}#13"])
    detail, responsible = tobacco.buttons[0], tobacco.buttons[1]
    entry = [{"entity": "entry", "value": f"{DOC}#2"}]
    who = respond(responsible["payload"], "ask_responsible", 1.0, entry, later, kb=kb)
    assert first_key(who) == "2" and "市烟草专卖局" in who.text
    full = respond(detail["payload"], "ask_detail", 1.0, entry, later, kb=kb)
    assert first_key(full) == "2" and "一站式" in full.text and full.kind == "detail"


# --- issue: answers that hold up on real people's questions ---------------------------------


def test_a_broad_question_gets_the_overview_with_a_button_per_action(kb):
    answer = ask(kb, "残疾人有哪些优惠政策", "ask_overview", 0.8)
    actions = [a for a in kb.actions() if a.keys]
    assert answer.kind == "overview" and answer.sources == []
    # First the way into the situation check, then one button per action.
    start, *per_action = answer.buttons
    assert start == {"title": "看看我适合哪些政策", "payload": "/check_situation"}
    assert len(per_action) == len(actions) == 10
    assert [b["payload"] for b in per_action] == [
        f'/ask_item{{"entry":"{a.keys[0]}"}}' for a in actions
    ]
    assert (
        "盲人按摩就业促进" in answer.text
        and wording.PERIOD_LINE.format(period="2022-2024") in answer.text
    )


def test_a_department_answers_in_pages_of_five_with_a_button_for_more(kb):
    department = kb.department("市人社局")
    assert len(department.keys) > wording.DEPARTMENT_PAGE_SIZE
    first = ask(
        kb,
        "市人社局在方案里负责什么",
        "ask_department",
        0.95,
        [{"entity": "department", "value": "市人社局"}],
    )
    assert first.kind == "department"
    assert [s["key"] for s in first.sources] == department.keys[: wording.DEPARTMENT_PAGE_SIZE]
    more = first.buttons[-1]
    assert more["payload"] == '/ask_department{"department":"市人社局","page":"2"}'
    second = ask(
        kb,
        more["payload"],
        "ask_department",
        1.0,
        [{"entity": "department", "value": "市人社局"}, {"entity": "page", "value": "2"}],
    )
    assert [s["key"] for s in second.sources] == department.keys[5:10]
    assert f"第6到第{5 + len(second.sources)}项" in second.text


@pytest.mark.parametrize(
    "text, intent",
    [
        (
            "我今年四十，以前在厂里上班，腿伤了以后一直没找到活，想请残联帮帮我",
            "ask_employment_service",
        ),
        ("市残联", "ask_department"),
        ("有什么补贴", "ask_subsidy"),
        ("残疾人就业", "ask_employment_service"),
        ("我是盲人，想学按摩，也想知道培训有没有补贴", "ask_blind_massage"),
    ],
)
def test_no_reply_cites_more_than_three_entries_outside_a_department_list(kb, text, intent):
    answer = ask(kb, text, intent, 0.9)
    limit = wording.DEPARTMENT_PAGE_SIZE if answer.kind == "department" else 3
    assert len(answer.sources) <= limit
    assert len([b for b in answer.buttons if "ask_item" in b["payload"]]) <= max(limit, 10)


def test_a_long_story_gets_the_need_it_tells(kb):
    story = "我今年四十，以前在厂里上班，腿伤了以后一直没找到活，想请残联帮帮我找份工作"
    answer = ask(kb, story, "ask_employment_service", 0.9)
    assert answer.kind == "answer"
    assert first_key(answer) in {"15", "16", "17", "19", "7"}


def test_not_covered_names_nearby_entry_as_a_button_and_never_quotes_it(kb):
    answer = ask(kb, "残保金怎么入账，会计科目用哪个", "out_of_scope", 0.9)
    assert answer.kind == "out_of_scope" and answer.sources == [] and not answer.keys
    assert wording.HOTLINE in answer.text
    for button in answer.buttons:
        assert button["payload"].startswith('/ask_item{"entry":')
    nothing_near = ask(kb, "明天天气怎么样", "out_of_scope", 0.95)
    assert nothing_near.buttons == [] and nothing_near.sources == []


def test_the_console_search_puts_the_chat_answer_first(kb):
    from knowledge.answering import open_decision, search

    decision = open_decision()
    for text, intent in [
        ("看不见的人能做什么工作", "ask_blind_massage"),
        ("卖烟要办什么证", "ask_tobacco_permit"),
        ("残疾大学生毕业找不到工作", "ask_graduate"),
    ]:
        parsed = {
            "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": [{"name": intent, "confidence": 0.9}],
            "entities": [],
        }
        chat = respond(
            text, intent, 0.9, [], kb=kb, ranking=parsed["intent_ranking"], decision=decision
        )
        found = search(kb, text, parsed, decision)
        assert chat.sources and found[0].key == chat.sources[0]["key"], text
        assert len({e.key for e in found}) == len(found)


# -- details the plan does not state (dates, channels, fees, requirements, outcomes, redress) --


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("烟草证一般要几个工作日", ["duration"]),
        ("24365校园招聘的网址是什么", ["address"]),
        ("湖北省带头安排残疾人就业实施办法全文在哪看", ["address"]),
        ("公益岗上班时间", ["time"]),
        ("公益性岗位补贴是按月发还是按季度发", ["time"]),
        ("黄石残疾人职业技能竞赛今年几时报名", ["time"]),
        ("公益岗社保补贴到哪年", ["duration"]),
        ("就业服务机构在哪个位置", ["address"]),
        ("盲人医疗按摩考试考几门", ["requirements"]),
        ("就业困难残疾人是么样认定的", ["requirements"]),
        ("公益性岗位合同到期了还能续签吗", ["redress"]),
        ("残疾人职业培训基地名单", ["channel"]),
        ("盲人开医疗按摩所要办哪些证照", ["requirements"]),
        ("阳光家园收不收费", ["fee"]),
        ("就业辅导员要什么学历，考哪些内容", ["requirements"]),
        ("2023年新增了多少残疾人就业", ["outcome"]),
        ("老板不让我上班了，我该去哪里告他", ["redress"]),
        ("盲人按摩考试在哪报名", []),
        ("全市农村这块要带动几多残疾人就业", []),  # 要带动 is not 要带 (what to bring)
        ("残疾人能去公共就业服务窗口登记找工作吗", []),  # whether, not which window
        ("办残疾人就业补贴在哪个窗口", ["channel"]),
        ("残联就业服务几点上班，周末有人吗", ["address"]),  # office hours, like its address
        ("盲人医疗按摩考试能用盲文答题吗", ["requirements"]),
        ("西塞山区阳光家园在哪里，我想带伢去看看", ["address"]),  # where a place is
        ("辅助性就业在哪里搞", []),  # where one can take part, which the plan may say
        ("联网认证系统账号怎么登录", ["address"]),  # the plan names a system, never its login
        ("就业辅导员证怎么考", ["requirements"]),
        ("年度考核怎么考核", []),
        ("盲人按摩考试报名条件", ["requirements"]),
        ("方案说要总结评估，评估结果是什么", ["outcome"]),
        ("培训会根据能力评估结果来定吗", []),
        ("专场招聘会在哪个地方开", ["address"]),
        ("金秋招聘月在哪里开", ["address"]),  # where a fair is held, never in the plan
        ("就业帮扶车间要达到么样的条件才能认定", ["requirements"]),
    ],
)
def test_the_kind_of_detail_asked_is_read_from_the_words(text, kinds):
    assert details.detail_asked(Question.of(text, "ask_item", 0.9)) == kinds


def test_a_detail_is_missing_only_when_the_entry_does_not_state_its_kind():
    when = Question.of("交流活动多久办一次", "ask_employment_service", 0.9)
    assert not details.detail_missing(when, "定期举办残疾人就业服务交流活动")
    assert details.detail_missing(when, "加强残疾人就业服务")
    # 定期 says how often, not how long it takes.
    how_long = Question.of("烟草零售许可证几天能办下来", "ask_tobacco_permit", 0.9)
    assert details.detail_missing(how_long, "每年定期开展")
    assert not details.detail_missing(how_long, "20个工作日内办结")
    # Each kind is its own input of the decision: the route learns which kinds a plan states.
    both = Question.of("烟草证几天能办下来，要收费吗", "ask_tobacco_permit", 0.9)
    assert details.missing_kinds(both, "免费办理，20个工作日内办结") == []
    assert details.missing_kinds(both, "每年定期开展") == ["duration", "fee"]
    # Naming an exam does not state what it asks of the candidates.
    subjects = Question.of("盲人医疗按摩考试考几门", "ask_blind_massage", 0.9)
    assert details.detail_missing(subjects, "组织盲人参加盲人医疗按摩人员考试")
    # A measure in Hubei's words (几多米) is a measure too: 60% states no distance in metres.
    spacing = Question.of("卷烟零售点间距具体是几多米", "ask_tobacco_permit", 0.9)
    assert details.detail_missing(spacing, "按照当地标准的60%执行")
    assert not details.detail_missing(spacing, "间距不少于50米")
    outcome = Question.of("三年行动目标完成了吗", "ask_targets", 0.9)
    assert details.detail_missing(outcome, "新增残疾人就业2500人")  # a plan never states outcomes


def test_without_a_second_opinion_the_question_keeps_diets_ranking_for_both():
    diet = [{"name": "ask_training", "confidence": 0.7}, {"name": "greet", "confidence": 0.3}]
    words = [{"name": "ask_blind_massage", "confidence": 0.6}, {"name": "greet", "confidence": 0.4}]
    plain = Question.of("学按摩", "ask_training", 0.7, [], diet)
    assert plain.words_ranking == plain.ranking == (("ask_training", 0.7), ("greet", 0.3))
    both = Question.of("学按摩", "ask_training", 0.7, [], diet, words)
    assert both.ranking == plain.ranking
    assert both.words_ranking == (("ask_blind_massage", 0.6), ("greet", 0.4))


def test_the_decision_weighs_the_second_opinion_for_the_route_and_the_entry(kb):
    from knowledge.answering.decision import entry_features, gather

    diet = [{"name": "ask_training", "confidence": 0.9}]
    massage = [{"name": "ask_blind_massage", "confidence": 0.9}]
    greet = [{"name": "greet", "confidence": 0.9}]
    on_massage = gather(kb, Question.of("盲人学按摩", "ask_training", 0.9, [], diet, massage))
    on_greet = gather(kb, Question.of("盲人学按摩", "ask_training", 0.9, [], diet, greet))
    assert on_massage.route["words:topic"] == 0.9 and on_massage.route["words:smalltalk"] == 0
    assert on_greet.route["words:smalltalk"] == 0.9 and on_greet.route["words:topic"] == 0
    first_massage = f"{kb.document().number}#{topics().candidates['ask_blind_massage'][0]}"
    features = entry_features(kb, on_massage)[first_massage]
    assert features["words:top_first"] == 1.0 and features["words:support"] == 0.9
    assert entry_features(kb, on_greet)[first_massage]["words:support"] == 0.0


STORY_WITH_SUMS = (
    "我是铁山区的肢体残疾人，四十岁，厂里一个月给三千块，做了几年就把我辞了，屋里药钱一个月要好几百。"
    "现在想学个修手机的手艺，请问残联有没有给残疾人办的免费技能培训？"
)


@pytest.mark.parametrize(
    "said, asked",
    [
        ("公益岗一个月几多钱", "公益岗一个月几多钱"),
        (STORY_WITH_SUMS, "现在想学个修手机的手艺，请问残联有没有给残疾人办的免费技能培训？"),
        # No question mark: the sentences with a question word.
        (
            "我腿不好在家待了好多年了。以前在厂里一个月挣两千。想问残联能不能帮我找个活干。谢谢",
            "想问残联能不能帮我找个活干。",
        ),
        # A long sentence told in commas asks in its clauses with a question word.
        (
            (
                "我左腿截肢装的假肢，想办个个体户执照在夜市摆摊卖炸串，本钱不多也冇经验，"
                "政府对残疾人自己做小生意有么样扶持？"
            ),
            "政府对残疾人自己做小生意有么样扶持？",
        ),
        # A run-on story with neither is asked whole.
        ("我腿不好在家待了好多年了以前在厂里一个月挣两千现在就想找个活干帮帮我", None),
    ],
)
def test_a_story_is_asked_by_its_asking_sentences(said, asked):
    assert asking_part(said) == (asked if asked is not None else said)
    question = Question.of(said, "ask_training", 0.9)
    assert question.asked == asking_part(said) and question.said == said


@pytest.mark.parametrize(
    "text, asked",
    [
        ("残疾人就业补贴标准是多少", "money"),
        ("残疾人就业补贴的标准在哪里能查到", "money"),
        ("残疾人就业补贴和奖励的标准由谁来定", None),  # who sets it: 三（二） says
        ("哪个部门制定补贴奖励标准", None),
        ("补贴和奖励标准到底由哪个来定", None),
        ("国企没招够 交几多保障金", "money"),  # the fund is money: only a sum in 元 answers it
    ],
)
def test_who_sets_a_standard_is_not_an_amount_asked(text, asked):
    assert cues.asks_for_amount(text) == asked


def test_sums_told_in_a_story_are_not_an_amount_asked(kb):
    """好几百, 三千块 tell the situation; the question asks for training, which item 21 offers."""
    assert cues.asks_for_amount(STORY_WITH_SUMS) == "money"  # the story as a whole
    question = Question.of(STORY_WITH_SUMS, "ask_training", 0.95)
    assert cues.asks_for_amount(question.asked) is None
    answer = ask(kb, STORY_WITH_SUMS, "ask_training", 0.95)
    assert answer.kind == "answer" and first_key(answer) == "21", answer.text
    assert wording.NO_AMOUNT not in answer.text


def test_a_length_asked_with_ji_is_a_measure():
    asked = Question.of("卷烟零售点标准间距几米", "ask_tobacco_permit", 0.9)
    assert details.measure_missing(asked, "按60%的标准间距设置")
    assert not details.measure_missing(asked, "间距不少于50米")
    assert not details.measure_missing(Question.of("有几个部门负责", None, 0.0), "")
