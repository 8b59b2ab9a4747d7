"""Reply text: always well-formed XML, phone formatting, numbered choices, long-answer parts."""

from __future__ import annotations

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wechat.phone_text import (
    MAX_BYTES,
    MAX_CHARS,
    MORE_HINT,
    SIMPLER,
    SIMPLER_INTRO,
    Choice,
    paginate,
    phone_answer,
    plain_text,
)
from bot.wechat.xml_reply import text_reply_xml, xml_safe_text
from tests.bot.wechat_fixtures.support import answer


def content_of(xml: str) -> str:
    return SafeET.fromstring(xml).findtext("Content")


@pytest.mark.parametrize(
    "text",
    [
        "依据见]]>这里",
        "]]>",
        "a]]>b]]>]]>c",
        "<script>alert('x')</script> & <![CDATA[ nested ]]>",
        "emoji 👨‍🦯🦽😊 and 中文",
        "控制字符\x00\x01\x08\x0b\x0c\x1b结束",
        "长" * 5000,
    ],
)
def test_reply_xml_is_well_formed_and_keeps_the_text(text):
    xml = text_reply_xml(to_user="oUser", from_user="gh_account", content=text)
    assert content_of(xml) == xml_safe_text(text)


def test_plain_wechatpy_breaks_on_cdata_end_which_is_why_we_clean():
    # The trap itself: wechatpy's own TextReply renders ]]> verbatim and the XML is broken.
    from wechatpy.replies import TextReply

    raw = TextReply(source="gh", target="o", content="a]]>b").render()
    with pytest.raises(SafeET.ParseError):
        SafeET.fromstring(raw)
    assert content_of(text_reply_xml(to_user="o", from_user="gh", content="a]]>b")) == "a]]>b"


def test_control_characters_are_dropped_not_escaped():
    assert xml_safe_text("a\x00b\x07c\td\ne\r\nf\rg") == "abc\td\ne\nf\ng"
    assert xml_safe_text("\ud800lone surrogate") == "lone surrogate"


def test_hostile_user_ids_cannot_break_the_envelope():
    xml = text_reply_xml(to_user="o]]><Evil/>", from_user="gh\x00", content="好")
    root = SafeET.fromstring(xml)
    assert root.findtext("ToUserName") == "o]]><Evil/>"
    assert root.find("Evil") is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(), max_size=3000))
def test_any_text_gives_parseable_xml_that_round_trips(text):
    xml = text_reply_xml(to_user="oUser", from_user="gh_account", content=text)
    assert (content_of(xml) or "") == xml_safe_text(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("盲人按摩。，\n]]>😊ab")), max_size=4000))
def test_parts_fit_one_message_and_lose_nothing(text):
    parts = paginate(text)
    for part in parts:
        assert len(part) <= MAX_CHARS
        assert len(part.encode()) <= MAX_BYTES
    for part in parts[:-1]:
        assert part.endswith(MORE_HINT)
    rebuilt = "".join(p.removesuffix("\n\n" + MORE_HINT) for p in parts)
    assert "".join(rebuilt.split()) == "".join(text.split())


def test_long_answer_is_cut_at_sentence_ends():
    sentence = "残疾人可以参加盲人医疗按摩人员考试，由市残联、市卫健委组织报名。"
    parts = paginate(sentence * 60)
    assert len(parts) >= 3
    assert all(p.removesuffix("\n\n" + MORE_HINT).endswith("。") for p in parts)


def test_short_answer_is_one_part_without_hint():
    assert paginate("很短的回答。") == ["很短的回答。"]


def test_phone_answer_has_text_basis_departments_and_numbered_choices():
    reply = answer(
        "盲人可以参加盲人医疗按摩人员考试。",
        buttons=[
            {"title": "详细说说", "payload": "/ask_detail"},
            {"title": "找谁办", "payload": "/ask_responsible"},
        ],
        sources=[
            {
                "document": "黄政办发〔2022〕60号",
                "item": 13,
                "ref": "二（八）13",
                "kind": "item",
                "title": "积极开展盲人按摩就业促进行动",
                "departments": ["市残联", "市人社局", "市卫健委"],
                "key": "黄政办发〔2022〕60号#13",
            },
            {
                "document": "黄政办发〔2022〕60号",
                "item": 14,
                "ref": "二（八）14",
                "kind": "item",
                "title": "x",
                "departments": ["市残联", "市医保局"],
                "key": "黄政办发〔2022〕60号#14",
            },
        ],
    )
    phone = phone_answer(reply)
    lines = phone.text.splitlines()
    assert lines[0] == "盲人可以参加盲人医疗按摩人员考试。"
    assert (
        "依据：黄政办发〔2022〕60号 二（八）13「积极开展盲人按摩就业促进行动」；黄政办发〔2022〕60号 二（八）14「x」"
        in lines
    )
    # Two entries cited: their departments together would not be this answer's (see below).
    assert not any(line.startswith("负责部门") for line in lines)
    assert lines[-2:] == ["回复 1：详细说说", "回复 2：找谁办"]
    assert phone.choices == [
        Choice("详细说说", "/ask_detail"),
        Choice("找谁办", "/ask_responsible"),
    ]
    assert "<" not in phone.text and "/ask" not in phone.text


def source(item: int, departments: list[str]) -> dict:
    return {
        "document": "黄政办发〔2022〕60号",
        "item": item,
        "ref": f"二（八）{item}",
        "kind": "item",
        "title": "积极开展盲人按摩就业促进行动",
        "departments": departments,
        "key": f"黄政办发〔2022〕60号#{item}",
    }


def test_a_single_cited_answer_gets_its_departments():
    phone = phone_answer(answer("盲人可以参加考试。", sources=[source(13, ["市残联", "市卫健委"])]))
    assert "负责部门：市残联、市卫健委" in phone.text.splitlines()


def test_a_department_answer_gets_no_departments_line():
    """The trial: 市人社局管什么 then 更多 ended with the departments of every item listed."""
    listing = "市人社局在方案中负责（或参与）以下2项：\n· 二（二）第2条：……\n· 二（八）第13条：……"
    many = [source(2, ["市委组织部", "市烟草专卖局"]), source(13, ["市人社局", "市工商联"])]
    for reply in (
        answer(listing, sources=many, kind="department"),
        answer(listing, sources=many[:1], kind="department"),  # one item, still a listing
        answer(listing, sources=many),  # several entries, whatever the kind
    ):
        text = phone_answer(reply).text
        assert "负责部门" not in text and "市烟草专卖局" not in text


def test_an_answer_with_its_own_departments_line_gets_no_second_one():
    own = "根据方案，……\n负责部门：市残联、市卫健委"
    phone = phone_answer(answer(own, sources=[source(13, ["市残联", "市卫健委"])]))
    assert phone.text.count("负责部门") == 1


def test_phone_answer_without_sources_or_buttons_is_just_the_text():
    phone = phone_answer(answer("您好！"))
    assert phone.text == "您好！"
    assert phone.choices == []


# -- 说简单点: the cited entries' easy-read summaries -------------------------------------------

PLAIN_13 = "盲人可以参加医疗按摩考试和培训。\n可以问市残联或市卫健委。"


def test_an_answer_with_a_plain_summary_offers_it_as_the_last_choice():
    reply = answer(
        "盲人可以参加盲人医疗按摩人员考试。",
        buttons=[{"title": "详细说说", "payload": "/ask_detail"}],
        sources=[{**source(13, ["市残联", "市卫健委"]), "plain": PLAIN_13}],
    )
    phone = phone_answer(reply)
    assert phone.choices == [Choice("详细说说", "/ask_detail"), Choice(SIMPLER, SIMPLER)]
    assert phone.text.splitlines()[-2:] == ["回复 1：详细说说", "回复 2：说简单点"]
    assert phone.plain == f"{SIMPLER_INTRO}\n{PLAIN_13}"
    assert PLAIN_13 not in phone.text, "the summary waits for 说简单点"


def test_several_summaries_come_each_under_its_reference():
    sources = [
        {**source(13, ["市残联"]), "plain": PLAIN_13},
        {**source(14, ["市残联"]), "plain": "盲人按摩店要按标准建设和服务。"},
        {**source(2, ["市残联"]), "plain": None},
    ]
    plain = plain_text(sources)
    assert plain == (
        f"{SIMPLER_INTRO}\n二（八）13：\n{PLAIN_13}\n\n二（八）14：\n盲人按摩店要按标准建设和服务。"
    )


def test_no_summary_no_choice():
    for sources in ([source(13, ["市残联"])], [{**source(13, ["市残联"]), "plain": None}], []):
        phone = phone_answer(answer("您好！", sources=sources))
        assert phone.plain == "" and SIMPLER not in phone.text
        assert Choice(SIMPLER, SIMPLER) not in phone.choices
