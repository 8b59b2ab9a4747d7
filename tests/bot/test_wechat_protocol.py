"""The callback protocol: handshake, signatures, freshness, replay, safe mode, hostile bodies."""

from __future__ import annotations

import time

import defusedxml.ElementTree as SafeET
import pytest
from wechatpy.crypto import WeChatCrypto

from bot.wechat.simulator import plaintext_request, read_reply, safe_mode_request, sign
from tests.bot.wechat_fixtures.support import (
    AES_KEY,
    APP_ID,
    OPENID,
    TOKEN,
    FakeChatService,
    answer,
    client,
    fixture_xml,
    make_app,
    post_plain,
    post_safe,
    text_xml,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


# -- GET /wechat: the handshake ----------------------------------------------------------------


async def test_handshake_returns_exactly_echostr():
    async with client(make_app(FakeChatService())) as http:
        ts, nonce = str(int(time.time())), "n0nce"
        echostr = "7023417829147338411"
        r = await http.get(
            "/wechat",
            params={
                "signature": sign(TOKEN, ts, nonce),
                "timestamp": ts,
                "nonce": nonce,
                "echostr": echostr,
            },
        )
    assert r.status_code == 200
    assert r.text == echostr
    assert r.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"signature": "0" * 40, "timestamp": "1", "nonce": "n", "echostr": "e"},
        {"timestamp": "1", "nonce": "n", "echostr": "e"},
        {
            "signature": sign("another-token", "1", "n"),
            "timestamp": "1",
            "nonce": "n",
            "echostr": "e",
        },
        {},
    ],
)
async def test_handshake_with_a_wrong_signature_is_403(params):
    async with client(make_app(FakeChatService())) as http:
        r = await http.get("/wechat", params=params)
    assert r.status_code == 403
    assert "e" != r.text


async def test_bridge_is_off_until_the_token_is_set():
    chat = FakeChatService()
    async with client(make_app(chat, wechat_token="")) as http:
        get = await http.get("/wechat", params={"echostr": "x"})
        post = await post_plain(http, text_xml("你好"), token="")
    for r in (get, post):
        assert r.status_code == 503
        assert "WECHAT_TOKEN" in r.text
    assert chat.calls == []


# -- POST: signatures, staleness, replay -------------------------------------------------------


async def test_bad_signature_is_403_and_nothing_is_answered():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        r = await post_plain(http, text_xml("盲人按摩"), token="wrong-token")
    assert r.status_code == 403
    assert chat.calls == []


async def test_stale_timestamp_is_403_even_with_a_valid_signature():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        old = str(int(time.time()) - 301)
        r = await post_plain(http, text_xml("盲人按摩"), timestamp=old)
        future = str(int(time.time()) + 400)
        r2 = await post_plain(http, text_xml("盲人按摩"), timestamp=future)
    assert (r.status_code, r2.status_code) == (403, 403)
    assert chat.calls == []


async def test_replayed_signature_with_another_body_is_403():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        first = plaintext_request(text_xml("第一条", msg_id=111), TOKEN)
        r1 = await http.post("/wechat", params=first.params, content=first.body)
        # An eavesdropper reuses the captured query with a body of their own.
        forged = text_xml("伪造的消息", msg_id=222, openid="o_someone_else")
        r2 = await http.post("/wechat", params=first.params, content=forged.encode())
    assert r1.status_code == 200
    assert r2.status_code == 403
    assert [c["text"] for c in chat.calls] == ["第一条"]


async def test_replayed_signature_with_the_same_message_is_a_retry_answered_once():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        signed = plaintext_request(text_xml("第一条", msg_id=333), TOKEN)
        r1 = await http.post("/wechat", params=signed.params, content=signed.body)
        r2 = await http.post("/wechat", params=signed.params, content=signed.body)
    assert read_reply(r1.text) is not None
    assert r2.text == "success"
    assert len(chat.calls) == 1


# -- safe mode ---------------------------------------------------------------------------------


async def test_safe_mode_round_trip_with_chinese_and_emoji():
    question = "盲人按摩考试怎么报名？😊👨‍🦯"
    chat = FakeChatService(reply_for=lambda text: answer(f"您问：{text} 👍 请到市残联报名。"))
    async with client(
        make_app(chat, wechat_app_id=APP_ID, wechat_encoding_aes_key=AES_KEY)
    ) as http:
        r = await post_safe(http, text_xml(question))
    assert r.status_code == 200
    envelope = SafeET.fromstring(r.text)
    assert envelope.findtext("Content") is None  # nothing readable outside the Encrypt element
    inner = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        r.text,
        envelope.findtext("MsgSignature"),
        envelope.findtext("TimeStamp"),
        envelope.findtext("Nonce"),
    )
    reply = SafeET.fromstring(inner)
    assert reply.findtext("ToUserName") == OPENID
    assert reply.findtext("Content").startswith(f"您问：{question} 👍 请到市残联报名。")
    assert chat.calls[0]["text"] == question


async def test_safe_mode_with_a_wrong_msg_signature_is_403():
    chat = FakeChatService()
    async with client(
        make_app(chat, wechat_app_id=APP_ID, wechat_encoding_aes_key=AES_KEY)
    ) as http:
        signed = safe_mode_request(text_xml("你好"), TOKEN, AES_KEY, APP_ID)
        signed.params["msg_signature"] = sign(TOKEN, "x", "y", "z")
        r = await http.post("/wechat", params=signed.params, content=signed.body)
        # A body encrypted for another AppID decrypts but must not be accepted.
        other = safe_mode_request(text_xml("你好"), TOKEN, AES_KEY, "wx_other_app")
        r2 = await http.post("/wechat", params=other.params, content=other.body)
    assert r.status_code == 403
    assert r2.status_code == 400
    assert chat.calls == []


def safe_app(chat):
    return make_app(chat, wechat_app_id=APP_ID, wechat_encoding_aes_key=AES_KEY)


async def test_plaintext_post_is_refused_once_an_aes_key_is_configured():
    chat = FakeChatService()
    async with client(safe_app(chat)) as http:
        r = await post_plain(http, text_xml("盲人按摩"))
    assert r.status_code == 403
    assert "WECHAT_ENCODING_AES_KEY" in r.text
    assert chat.calls == []


async def test_query_captured_from_safe_mode_cannot_carry_a_forged_plaintext_body():
    chat = FakeChatService()
    async with client(safe_app(chat)) as http:
        captured = safe_mode_request(text_xml("真实的问题", msg_id=444), TOKEN, AES_KEY, APP_ID)
        r1 = await http.post("/wechat", params=captured.params, content=captured.body)
        # The captured `signature` is valid over (token, timestamp, nonce) alone: drop the
        # safe-mode parameters and send a plaintext body of one's own.
        query = {
            k: v for k, v in captured.params.items() if k in ("signature", "timestamp", "nonce")
        }
        forged = text_xml("伪造的消息", msg_id=555, openid="o_someone_else")
        r2 = await http.post("/wechat", params=query, content=forged.encode())
    assert r1.status_code == 200
    assert r2.status_code == 403
    assert [c["text"] for c in chat.calls] == ["真实的问题"]


async def test_safe_mode_stale_timestamp_is_403():
    chat = FakeChatService()
    async with client(safe_app(chat)) as http:
        old = str(int(time.time()) - 301)
        r = await post_safe(http, text_xml("盲人按摩"), timestamp=old)
    assert r.status_code == 403
    assert chat.calls == []


async def test_safe_mode_goes_through_the_replay_guard():
    chat = FakeChatService()
    app = safe_app(chat)
    async with client(app) as http:
        signed = safe_mode_request(text_xml("第一条", msg_id=666), TOKEN, AES_KEY, APP_ID)
        r1 = await http.post("/wechat", params=signed.params, content=signed.body)
        # The very same request again (WeChat's retry, or a replay): the same message, answered
        # once by MsgId, not refused.
        r2 = await http.post("/wechat", params=signed.params, content=signed.body)
    assert read_reply(r1.text, TOKEN, AES_KEY, APP_ID) is not None
    assert (r2.status_code, r2.text) == (200, "success")
    assert len(chat.calls) == 1
    # The guard saw (timestamp, nonce, msg_signature): it now belongs to that message only.
    query = tuple(signed.params[k] for k in ("timestamp", "nonce", "msg_signature"))
    replay = app.state.wechat_bridge.replay
    assert replay.admit(query, f"msg:{OPENID}:667") is False
    assert replay.admit(query, f"msg:{OPENID}:666") is True


async def test_plaintext_mode_still_works_without_an_aes_key():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        r = await post_plain(http, text_xml("盲人按摩"))
    assert read_reply(r.text) is not None
    assert len(chat.calls) == 1


async def test_safe_mode_request_without_a_configured_key_is_503():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        r = await post_safe(http, text_xml("你好"))
    assert r.status_code == 503
    assert "WECHAT_ENCODING_AES_KEY" in r.text
    assert chat.calls == []


# -- hostile bodies with a valid signature ------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""

HOSTILE = {
    "billion_laughs": BILLION_LAUGHS.encode(),
    "xxe": XXE.encode(),
    "not_xml": b'this is not XML at all {"json": true}',
    "empty": b"",
    "wrong_root": b"<html><body>hi</body></html>",
    "no_msgtype": b"<xml><FromUserName>b</FromUserName></xml>",
    "bad_msgid": b"<xml><FromUserName>b</FromUserName><MsgType>text</MsgType><Content>x</Content>"
    b"<MsgId>not-a-number</MsgId><CreateTime>soon</CreateTime></xml>",
    "not_utf8": "<xml><MsgType>text</MsgType><Content>盲人</Content></xml>".encode("gbk"),
    "ten_megabytes": b"<xml><Content>" + b"A" * (10 * 1024 * 1024) + b"</Content></xml>",
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_body_with_valid_signature_gets_a_quick_controlled_answer(name):
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        signed = plaintext_request("", TOKEN)
        started = time.monotonic()
        r = await http.post("/wechat", params=signed.params, content=HOSTILE[name])
        took = time.monotonic() - started
    assert r.status_code != 500
    assert (
        r.status_code in (400, 413) or r.text == "success" or SafeET.fromstring(r.text) is not None
    )
    assert "root:" not in r.text and "lol" not in r.text
    assert took < 2.0
    if name in ("billion_laughs", "xxe", "not_xml", "empty", "wrong_root", "no_msgtype"):
        assert r.status_code == 400
        assert chat.calls == []
    if name == "ten_megabytes":
        assert r.status_code == 413


async def test_body_over_the_cap_is_refused_without_reading_it_all():
    from bot.wechat.protocol import MAX_BODY_BYTES, TooLarge, read_capped_body

    served = []

    class Endless:
        headers = {"content-length": ""}  # noqa: RUF012 - a stand-in for starlette's Request

        async def stream(self):
            while True:
                served.append(4096)
                yield b"A" * 4096

    with pytest.raises(TooLarge):
        await read_capped_body(Endless())
    assert sum(served) <= MAX_BODY_BYTES + 4096


async def test_recorded_text_message_is_answered_in_plaintext_mode():
    chat = FakeChatService()
    async with client(make_app(chat)) as http:
        r = await post_plain(http, fixture_xml("text.xml"))
    reply = SafeET.fromstring(r.text)
    assert reply.findtext("MsgType") == "text"
    assert reply.findtext("ToUserName") == OPENID
    assert reply.findtext("FromUserName") == "gh_2f1d3c8b9a01"
    assert "盲人按摩考试怎么报名" in reply.findtext("Content")
    assert chat.calls[0]["channel"] == "wechat"
    conversation_id = chat.calls[0]["conversation_id"]
    assert conversation_id.startswith("wechat:") and OPENID not in conversation_id
