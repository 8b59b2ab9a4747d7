"""The bridge's behaviour with a fake chat service: dedupe, events, message types, choices,
long answers, and answers that come too late (customer-service API or the next message)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import shutil
import time

import pytest

from bot.settings import REPO_ROOT
from bot.wechat.config import WeChatConfig
from bot.wechat.menu import HOTLINE, NEUTRAL_SUBJECT, NO_PLAIN, TOPICS, welcome
from bot.wechat.phone_text import MORE_HINT
from bot.wechat.simulator import message_xml, read_reply
from knowledge.store import open_kb
from tests.bot.wechat_fixtures.fake_wechat_api import FakeWeChatAPI
from tests.bot.wechat_fixtures.support import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    OPENID,
    SECRET_KEY,
    FakeChatService,
    answer,
    client,
    fixture_xml,
    make_app,
    make_settings,
    post_plain,
    text_xml,
)
from tests.fakes import BLIND_MASSAGE_SOURCE

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def say(http, text: str, **kw) -> str | None:
    r = await post_plain(http, text_xml(text, **kw))
    assert r.status_code == 200
    return read_reply(r.text)


# -- conversation key --------------------------------------------------------------------------


async def test_conversation_id_is_an_hmac_of_the_openid():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        await say(http, "你好")
        await say(http, "还有呢", openid="o_another_user")
    expected = hmac.new(SECRET_KEY.encode(), OPENID.encode(), hashlib.sha256).hexdigest()[:32]
    assert chat.calls[0]["conversation_id"] == f"wechat:{expected}"
    assert chat.calls[1]["conversation_id"] != chat.calls[0]["conversation_id"]


# -- WeChat's three tries ----------------------------------------------------------------------


async def test_triple_delivery_gives_one_call_and_one_answer():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        xml = text_xml("盲人按摩考试怎么报名", msg_id=424242)
        replies = [read_reply((await post_plain(http, xml)).text) for _ in range(3)]
    assert len(chat.calls) == 1
    assert [r is not None for r in replies] == [True, False, False]


async def test_concurrent_retries_await_the_same_answer():
    chat = FakeChatService(delay=0.4)
    async with client(make_app(chat)) as http:
        xml = text_xml("盲人按摩考试怎么报名", msg_id=515151)
        responses = await asyncio.gather(*(post_plain(http, xml) for _ in range(3)))
    replies = [read_reply(r.text) for r in responses]
    assert len(chat.calls) == 1
    assert sum(r is not None for r in replies) == 1
    assert [r for r in replies if r is None] == [None, None]


async def test_different_messages_are_not_deduplicated():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        await say(http, "问题一", msg_id=1)
        await say(http, "问题二", msg_id=2)
    assert [c["text"] for c in chat.calls] == ["问题一", "问题二"]


# -- events -------------------------------------------------------------------------------------


async def test_subscribe_gets_the_welcome_menu_and_a_number_works():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        welcome = read_reply((await post_plain(http, fixture_xml("subscribe.xml"))).text)
        assert "欢迎" in welcome
        for number, topic in enumerate(TOPICS, start=1):
            assert f"回复 {number}：{topic.title}" in welcome
        assert HOTLINE in welcome
        await say(http, "2")
    assert chat.calls[-1]["text"] == TOPICS[1].payload == "盲人按摩就业有什么政策？"


async def welcome_of(app) -> str:
    async with client(app) as http:
        return read_reply((await post_plain(http, fixture_xml("subscribe.xml"))).text)


async def test_welcome_quotes_the_plans_title_from_the_knowledge_base(kb_path):
    welcome = await welcome_of(make_app(FakeChatService(), knowledge_db=kb_path))
    document = open_kb(kb_path).document()
    assert f"《{document.title}》（{document.number}）" in welcome
    assert (
        "《黄石市促进残疾人就业三年行动实施方案（2022-2024年）》（黄政办发〔2022〕60号）" in welcome
    )
    assert "三年行动方案（2022—2024年）" not in welcome  # the old misquotation


async def test_without_a_knowledge_base_the_welcome_names_no_title(tmp_path):
    welcome = await welcome_of(make_app(FakeChatService(), knowledge_db=tmp_path / "none.db"))
    assert "欢迎" in welcome and NEUTRAL_SUBJECT in welcome
    assert "《" not in welcome and "》" not in welcome
    assert f"回复 1：{TOPICS[0].title}" in welcome and HOTLINE in welcome


def test_the_welcome_picks_up_a_knowledge_base_built_after_a_miss(tmp_path, kb_path):
    later = tmp_path / "knowledge.db"
    assert NEUTRAL_SUBJECT in welcome(later)  # a miss is not cached
    shutil.copy(kb_path, later)
    assert "《黄石市促进残疾人就业三年行动实施方案（2022-2024年）》" in welcome(later)


async def test_tobacco_retail_is_on_the_topic_menu():
    titles = [topic.title for topic in TOPICS]
    number = titles.index("烟草零售（卷烟零售点、烟草证）") + 1
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        menu = await say(http, "菜单")
        assert f"回复 {number}：烟草零售（卷烟零售点、烟草证）" in menu
        await say(http, str(number))
    assert chat.calls[-1]["text"] == TOPICS[number - 1].payload
    assert "烟草" in chat.calls[-1]["text"]


def test_every_topic_sends_a_question_not_a_bare_intent():
    # A bare "/ask_tobacco_permit" has no words to choose the item's sentences with.
    for topic in TOPICS:
        assert not topic.payload.startswith("/"), topic
        assert len(topic.payload) >= 4


def test_config_reads_the_settings_object_directly():
    settings = make_settings(
        wechat_token=" tok ",
        wechat_app_id="wx1",
        wechat_encoding_aes_key=AES_KEY,
        wechat_app_secret="s3",
        wechat_api_base="http://127.0.0.1:18555/",
        knowledge_db="elsewhere/knowledge.db",
    )
    config = WeChatConfig.from_settings(settings)
    assert (config.token, config.app_id, config.encoding_aes_key, config.app_secret) == (
        "tok",
        "wx1",
        AES_KEY,
        "s3",
    )
    assert config.api_base == "http://127.0.0.1:18555"
    assert config.secret_key == SECRET_KEY
    assert config.knowledge_db == REPO_ROOT / "elsewhere" / "knowledge.db"
    assert not config.plaintext_allowed and config.safe_mode_ready
    assert WeChatConfig.from_settings(make_settings()).plaintext_allowed


async def test_unsubscribe_gets_success_and_nothing_else():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        r = await post_plain(http, fixture_xml("unsubscribe.xml"))
    assert r.text == "success"
    assert chat.calls == []


async def test_duplicate_events_are_answered_once_by_sender_time_and_event():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        event = message_xml(kind="event", event="subscribe", create_time=1669680100)
        first = await post_plain(http, event)
        again = await post_plain(http, event)
        # Same second, another user: a different event.
        other = await post_plain(
            http,
            message_xml(kind="event", event="subscribe", create_time=1669680100, openid="o_other"),
        )
    assert read_reply(first.text) is not None
    assert again.text == "success"
    assert read_reply(other.text) is not None


async def test_menu_word_shows_the_topics_again():
    async with client(make_app(FakeChatService())) as http:
        menu = await say(http, "菜单")
    assert "回复 1：" in menu and TOPICS[0].title in menu


# -- message types: never silence ------------------------------------------------------------


async def test_voice_with_recognition_is_answered_like_text():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        reply = read_reply((await post_plain(http, fixture_xml("voice_recognized.xml"))).text)
    assert chat.calls[0]["text"] == "盲人按摩考试怎么报名。"
    assert "盲人按摩考试怎么报名" in reply


@pytest.mark.parametrize(
    "fixture, phrase",
    [
        ("voice_unrecognized.xml", "语音"),
        ("image.xml", "图片"),
        ("location.xml", "位置"),
        ("video.xml", "视频"),
        ("shortvideo.xml", "视频"),
        ("link.xml", "链接"),
    ],
)
async def test_unreadable_messages_get_a_polite_text_with_the_hotline(fixture, phrase):
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        reply = read_reply((await post_plain(http, fixture_xml(fixture))).text)
    assert phrase in reply
    assert "12385" in reply
    assert "文字" in reply and "语音" in reply  # says what it can take
    assert chat.calls == []


async def test_unknown_message_type_is_not_silent():
    xml = (
        "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[miniprogrampage]]></MsgType>"
        "<Title><![CDATA[x]]></Title><MsgId>99</MsgId></xml>"
    )
    async with client(make_app(FakeChatService())) as http:
        reply = read_reply((await post_plain(http, xml)).text)
    assert "12385" in reply


async def test_empty_text_is_not_silent():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        reply = await say(http, "   ")
    assert reply and chat.calls == []


async def test_invisible_or_very_long_text_is_refused_without_asking_rasa():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        invisible = await say(http, "\u200b\u200d\ufeff")
        too_long = await say(http, "盲" * 10_000)
    assert invisible and "500" in too_long
    assert chat.calls == []


# -- numbered choices ---------------------------------------------------------------------------


def with_buttons(text: str):
    return answer(
        f"{text}的回答。",
        buttons=[
            {"title": "详细说说", "payload": "/ask_detail"},
            {"title": "第13条说什么", "payload": '/ask_item{"entry":"黄政办发〔2022〕60号#13"}'},
        ],
    )


@pytest.mark.parametrize("said", ["2", "２", "回复 2", "二。", "2。"])
async def test_a_number_becomes_the_button_payload(said):
    chat = FakeChatService(reply_for=with_buttons)
    async with client(make_app(chat)) as http:
        shown = await say(http, "盲人按摩")
        assert "回复 1：详细说说\n回复 2：第13条说什么" in shown
        await say(http, said)
    assert chat.calls[-1]["text"] == '/ask_item{"entry":"黄政办发〔2022〕60号#13"}'


async def test_a_number_without_matching_choice_is_passed_on_as_text():
    chat = FakeChatService(reply_for=with_buttons)
    async with client(make_app(chat)) as http:
        await say(http, "盲人按摩")
        await say(http, "7")
    assert chat.calls[-1]["text"] == "7"


async def test_choices_are_per_conversation():
    chat = FakeChatService(reply_for=with_buttons)
    async with client(make_app(chat)) as http:
        await say(http, "盲人按摩")
        await say(http, "1", openid="o_someone_else")
    assert chat.calls[-1]["text"] == "1"


# -- 说简单点 -------------------------------------------------------------------------------------

PLAIN_13 = "盲人可以参加医疗按摩考试和培训。\n可以问市残联或市卫健委。"


def with_plain(text: str):
    if "谢谢" in text:
        return answer("不客气！")
    source = {**BLIND_MASSAGE_SOURCE, "departments": ["市残联", "市卫健委"], "plain": PLAIN_13}
    return answer(
        "根据方案，组织盲人参加盲人医疗按摩人员考试、资格审核、继续教育和职称评审等。",
        buttons=[
            {"title": "详细说说", "payload": "/ask_detail"},
            {"title": "找谁办", "payload": "/ask_responsible"},
        ],
        sources=[source],
    )


@pytest.mark.parametrize("said", ["3", "说简单点", "说简单点。", "看不懂"])
async def test_simpler_gives_the_plain_summary_without_asking_rasa(said):
    chat = FakeChatService(reply_for=with_plain)
    async with client(make_app(chat)) as http:
        shown = await say(http, "盲人按摩考试")
        assert shown.splitlines()[-1] == "回复 3：说简单点"
        simple = await say(http, said)
        again = await say(http, "说简单点")
        await say(http, "2")  # the answer's own choices still work afterwards
    assert simple == again == f"简单地说：\n{PLAIN_13}"
    assert [c["text"] for c in chat.calls] == ["盲人按摩考试", "/ask_responsible"]


async def test_simpler_after_an_answer_without_entries_says_so():
    chat = FakeChatService(reply_for=with_plain)
    async with client(make_app(chat)) as http:
        await say(http, "盲人按摩考试")
        await say(http, "谢谢")
        simple = await say(http, "说简单点")
    assert simple == NO_PLAIN
    assert [c["text"] for c in chat.calls] == ["盲人按摩考试", "谢谢"]


# -- long answers -------------------------------------------------------------------------------

LONG = "".join(f"第{i}句：残疾人按规定享受职业培训补贴和社会保险补贴。" for i in range(80))


async def test_long_answer_is_split_and_more_gives_the_next_part():
    chat = FakeChatService(reply_for=lambda text: answer(LONG))
    async with client(make_app(chat)) as http:
        parts = [await say(http, "补贴有哪些")]
        while parts[-1].endswith(MORE_HINT):
            parts.append(await say(http, "更多"))
        after = await say(http, "更多")
    assert len(parts) >= 3
    assert all(len(p) <= 600 for p in parts)
    joined = "".join(p.removesuffix("\n\n" + MORE_HINT) for p in parts)
    assert joined == LONG
    assert "全部显示完" in after
    assert len(chat.calls) == 1  # 更多 never goes to Rasa


DEPARTMENT_SOURCES = [
    {
        "document": "黄政办发〔2022〕60号",
        "item": n,
        "ref": f"二（{n}）{n}",
        "kind": "item",
        "title": f"第{n}项行动",
        "departments": ["市委组织部", "市委编办", f"部门{n}", "市烟草专卖局", "市工商联"],
        "key": f"黄政办发〔2022〕60号#{n}",
    }
    for n in range(1, 21)
]
DEPARTMENT_LISTING = "市人社局在方案中负责（或参与）以下20项：\n" + "\n".join(
    f"· 二（{n}）第{n}条：" + "将残疾人就业纳入各级公共就业服务机构服务范围。" * 2
    for n in range(1, 21)
)


async def test_department_answer_and_its_more_parts_name_no_other_departments():
    """The trial: 市人社局管什么, then 更多, ended with 负责部门：…市委组织部、市委编办…"""
    chat = FakeChatService(
        reply_for=lambda text: answer(
            DEPARTMENT_LISTING, sources=DEPARTMENT_SOURCES, kind="department"
        )
    )
    async with client(make_app(chat)) as http:
        parts = [await say(http, "市人社局管什么")]
        while parts[-1].endswith(MORE_HINT):
            parts.append(await say(http, "更多"))
    assert len(parts) >= 2
    shown = "".join(parts)
    assert "负责部门" not in shown and "市委组织部" not in shown and "市工商联" not in shown


# -- answers that come too late -----------------------------------------------------------------


@pytest.mark.slow  # waits out WeChat's real five seconds
async def test_slow_answer_is_success_within_five_seconds_then_kept_for_the_next_message():
    """Real budget (4.5 s); no customer-service credentials: keep the answer for next time."""
    chat = FakeChatService(delay=5.5, reply_for=lambda text: answer(f"迟到的回答：{text}"))
    app = make_app(chat)
    async with client(app) as http:
        started = time.monotonic()
        r = await post_plain(http, text_xml("盲人按摩考试怎么报名"))
        took = time.monotonic() - started
        assert r.text == "success"
        assert 4.0 <= took < 5.0
        await asyncio.sleep(1.3)  # the answer is ready now, nobody to hand it to
        chat.delay = 0
        nxt = await say(http, "谢谢")
    assert "迟到的回答：盲人按摩考试怎么报名" in nxt
    assert nxt.index("迟到的回答：盲人按摩考试怎么报名") < nxt.index("迟到的回答：谢谢")
    assert len(chat.calls) == 2


async def test_late_answer_goes_through_the_customer_service_api_with_one_token_refresh():
    chat = FakeChatService(
        delay=0.6, reply_for=lambda text: answer("盲人医疗按摩考试由市残联组织报名。😊")
    )
    with FakeWeChatAPI(APP_ID, APP_SECRET, reject_first_token=True) as api:
        app = make_app(
            chat,
            reply_budget=0.2,
            wechat_app_id=APP_ID,
            wechat_app_secret=APP_SECRET,
            wechat_api_base=api.base_url,
        )
        async with client(app) as http:
            r = await post_plain(http, text_xml("盲人按摩考试怎么报名"))
            assert r.text == "success"
            await asyncio.sleep(0.6)
            await app.state.wechat_bridge.drain()
        assert api.tokens_issued == ["ACCESS_TOKEN_1", "ACCESS_TOKEN_2"]  # refreshed exactly once
        assert api.send_attempts == ["ACCESS_TOKEN_1", "ACCESS_TOKEN_2"]
        assert api.delivered == [
            {
                "touser": OPENID,
                "msgtype": "text",
                "text": {"content": "盲人医疗按摩考试由市残联组织报名。😊"},
            }
        ]
    assert len(chat.calls) == 1


async def test_token_is_reused_between_late_answers():
    chat = FakeChatService(delay=0.4)
    with FakeWeChatAPI(APP_ID, APP_SECRET) as api:
        app = make_app(
            chat,
            reply_budget=0.1,
            wechat_app_id=APP_ID,
            wechat_app_secret=APP_SECRET,
            wechat_api_base=api.base_url,
        )
        async with client(app) as http:
            await post_plain(http, text_xml("问题一"))
            await post_plain(http, text_xml("问题二"))
            await asyncio.sleep(0.5)
            await app.state.wechat_bridge.drain()
        assert len(api.tokens_issued) == 1
        assert len(api.delivered) == 2


async def test_when_the_customer_service_api_refuses_the_answer_waits_for_the_next_message():
    chat = FakeChatService(delay=0.4, reply_for=lambda text: answer(f"回答：{text}"))
    with FakeWeChatAPI(APP_ID, APP_SECRET, always_reject=True) as api:
        app = make_app(
            chat,
            reply_budget=0.1,
            wechat_app_id=APP_ID,
            wechat_app_secret=APP_SECRET,
            wechat_api_base=api.base_url,
        )
        async with client(app) as http:
            assert (await post_plain(http, text_xml("第一问"))).text == "success"
            await asyncio.sleep(0.5)
            await app.state.wechat_bridge.drain()
            # One refresh, then give up: no endless 40001 loop.
            assert len(api.tokens_issued) == 2
            assert len(api.send_attempts) == 2
            chat.delay = 0
            nxt = await say(http, "第二问")
    assert "回答：第一问" in nxt and "回答：第二问" in nxt


async def test_retry_while_the_first_is_waiting_still_gets_the_one_answer_in_time():
    chat = FakeChatService(delay=0.5)
    async with client(make_app(chat, reply_budget=1.0)) as http:
        xml = text_xml("盲人按摩", msg_id=777)
        first = asyncio.ensure_future(post_plain(http, xml))
        await asyncio.sleep(0.2)
        second = await post_plain(http, xml)
        first = await first
    replies = [read_reply(first.text), read_reply(second.text)]
    assert sum(r is not None for r in replies) == 1
    assert len(chat.calls) == 1


async def test_chat_service_failure_still_answers_with_the_hotline():
    class Broken:
        async def reply(self, **kw):
            raise RuntimeError("boom")

    async with client(make_app(Broken())) as http:
        reply = await say(http, "盲人按摩")
    assert "12385" in reply


WECHAT_SOURCES = sorted((REPO_ROOT / "bot" / "wechat").glob("*.py")) + [
    REPO_ROOT / "bot" / "wechat" / "simulator.py"
]


@pytest.mark.parametrize("path", WECHAT_SOURCES, ids=lambda p: p.name)
def test_wechat_sources_hold_no_copy_of_the_hotline_or_the_plan_title(path):
    text = path.read_text(encoding="utf-8")
    assert HOTLINE not in text, "import it from knowledge.wording"
    assert "三年行动" not in text, "the plan's title comes from the knowledge base"
