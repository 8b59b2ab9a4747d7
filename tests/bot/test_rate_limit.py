"""Rate limits: the token buckets with a fake clock, the client address behind proxies, 429 on
/api/chat, the limited WeChat reply, and uvicorn told the same trusted proxies."""

from __future__ import annotations

import socket

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from bot.api.chat_routes import LOCAL_TOOL_HEADER
from bot.api.client_address import client_address, parse_trusted_proxies
from bot.api.rate_limit import ChatLimits, RateLimit, admit, too_fast_text
from bot.app import create_app
from bot.cli import launcher
from bot.settings import Settings
from bot.wechat.bridge import WeChatBridge
from bot.wechat.simulator import read_reply
from tests.bot.wechat_fixtures.support import (
    FakeChatService,
    make_app,
    post_plain,
    text_xml,
)
from tests.bot.wechat_fixtures.support import client as wechat_client

SLOW_DOWN = "您发得太快了"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def anyio_backend():
    return "asyncio"


# -- the buckets ---------------------------------------------------------------------------


def test_a_full_minute_at_once_then_one_every_few_seconds(clock):
    limit = RateLimit(20, clock=clock)
    assert [limit.hit("a") for _ in range(20)] == [0] * 20
    assert limit.hit("a") == pytest.approx(3.0)  # 60 s / 20
    clock.now += 2.9
    assert limit.hit("a") == pytest.approx(0.1)
    clock.now += 0.1
    assert limit.hit("a") == 0
    assert limit.hit("a") == pytest.approx(3.0)


def test_a_refused_message_costs_nothing(clock):
    limit = RateLimit(2, clock=clock)
    limit.hit("a")
    limit.hit("a")
    for _ in range(10):  # hammering while held back does not push the wait further out
        assert limit.hit("a") == pytest.approx(30.0)
    clock.now += 30
    assert limit.hit("a") == 0


def test_keys_are_separate_and_zero_means_no_limit(clock):
    limit = RateLimit(1, clock=clock)
    assert limit.hit("a") == 0 and limit.hit("a") > 0
    assert limit.hit("b") == 0
    unlimited = RateLimit(0, clock=clock)
    assert all(unlimited.hit("a") == 0 for _ in range(1000))
    assert len(unlimited) == 0


def test_admit_charges_every_limit_or_none(clock):
    conversation, address = RateLimit(1, clock=clock), RateLimit(3, clock=clock)
    assert admit([(conversation, "c"), (address, "ip")]) == 0
    # Held back by the conversation: the address budget is not used up meanwhile.
    assert admit([(conversation, "c"), (address, "ip")]) == 60
    assert admit([(conversation, "c"), (address, "ip")]) == 60
    assert address.wait("ip") == 0
    assert admit([(conversation, "c2"), (address, "ip")]) == 0
    assert admit([(conversation, "c3"), (address, "ip")]) == 0
    assert admit([(conversation, "c4"), (address, "ip")]) == 20  # the address's 3 are spent


def test_retry_after_is_whole_seconds_rounded_up(clock):
    limits = ChatLimits(RateLimit(7, clock=clock), RateLimit(100, clock=clock))
    for _ in range(7):
        assert limits.admit("c", "ip") == 0
    assert limits.admit("c", "ip") == 9  # 60 / 7 = 8.57 s
    clock.now += 8.5
    assert limits.admit("c", "ip") == 1  # never 0 while held back
    assert too_fast_text(9) == "您发得太快了，请等 9 秒再发。"


def test_memory_is_bounded(clock):
    limit = RateLimit(5, clock=clock, max_keys=100)
    for i in range(50):
        limit.hit(f"old-{i}")
    clock.now += 60  # full again: the same as no bucket
    limit.hit("new")
    assert len(limit) == 1
    for i in range(1000):
        limit.hit(f"flood-{i}")
    assert len(limit) == 100


# -- the client address ----------------------------------------------------------------------

PROXY = parse_trusted_proxies("10.0.0.1, 192.168.0.0/16")


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy():
    assert client_address("203.0.113.5", ["198.51.100.1"], ()) == "203.0.113.5"
    assert client_address("203.0.113.5", ["198.51.100.1"], PROXY) == "203.0.113.5"
    assert client_address("10.0.0.1", ["198.51.100.1"], PROXY) == "198.51.100.1"


def test_the_client_is_the_rightmost_address_no_trusted_proxy_wrote():
    # The client made up the first entry; the proxy appended the real one.
    assert client_address("10.0.0.1", ["6.6.6.6, 198.51.100.1"], PROXY) == "198.51.100.1"
    # Two proxies of ours in a row, the header sent twice, ports and brackets.
    assert client_address("10.0.0.1", ["6.6.6.6", "198.51.100.1:5555, 192.168.1.9"], PROXY) == (
        "198.51.100.1"
    )
    assert client_address("10.0.0.1", ["[2001:db8::7]:443"], PROXY) == "2001:db8::7"
    assert client_address("10.0.0.1", ["unknown"], PROXY) == "unknown"
    # No header, or only our proxies: the closest address known.
    assert client_address("10.0.0.1", [], PROXY) == "10.0.0.1"
    assert client_address("10.0.0.1", ["192.168.1.9"], PROXY) == "192.168.1.9"
    # A dual-stack socket shows an IPv4 proxy as an IPv6 address.
    assert client_address("::ffff:10.0.0.1", ["198.51.100.1"], PROXY) == "198.51.100.1"


def test_trusted_proxies_setting_is_checked():
    settings = Settings(_env_file=None, trusted_proxies=" 127.0.0.1, 10.0.0.0/8 ")
    assert settings.trusted_proxies == "127.0.0.1/32,10.0.0.0/8"
    assert Settings(_env_file=None).trusted_proxies == ""
    with pytest.raises(ValidationError):
        Settings(_env_file=None, trusted_proxies="localhost")
    with pytest.raises(ValidationError):
        Settings(_env_file=None, rate_limit_per_minute=-1)


# -- POST /api/chat --------------------------------------------------------------------------


def test_over_the_limit_is_429_with_retry_after_and_never_reaches_rasa(make_client, fake_rasa):
    rasa = fake_rasa("normal")
    client = make_client(rasa, rate_limit_per_minute=2)
    for _ in range(2):
        assert client.post("/api/chat", json={"sender": "k", "message": "你好"}).status_code == 200
    response = client.post("/api/chat", json={"sender": "k", "message": "盲人按摩考试在哪报名"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"detail": "您发得太快了，请等 30 秒再发。"}
    assert "x-answer-id" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"  # like every other response
    assert len(rasa.received) == 2
    # Not logged at all, so not among the unanswered questions either.
    assert len(client.app.state.conversation_log.turns(channel="api")) == 2
    # Meanwhile everyone else is answered as usual.
    other = client.post("/api/chat", json={"sender": "other", "message": "盲人按摩考试在哪报名"})
    assert other.status_code == 200 and other.json()["replies"]
    assert len(rasa.received) == 3


def test_a_browser_conversation_is_limited_by_its_cookie(make_client, fake_rasa):
    client = make_client(fake_rasa("normal"), rate_limit_per_minute=1)
    assert client.post("/api/chat", json={"message": "你好"}).status_code == 200
    assert client.post("/api/chat", json={"message": "你好"}).status_code == 429
    other_browser = TestClient(client.app)
    assert other_browser.post("/api/chat", json={"message": "你好"}).status_code == 200


def test_new_senders_from_one_address_meet_the_address_limit(make_client, fake_rasa):
    client = make_client(fake_rasa("normal"), rate_limit_per_address_per_minute=3)
    codes = [
        client.post("/api/chat", json={"sender": f"s{i}", "message": "你好"}).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    elsewhere = TestClient(client.app, client=("198.51.100.20", 40000))
    assert elsewhere.post("/api/chat", json={"sender": "s9", "message": "你好"}).status_code == 200


def _post_from(app, peer: str, forwarded_for: str, sender: str) -> int:
    # Not `with`: that would run the app's shutdown, which belongs to make_client.
    http = TestClient(app, client=(peer, 40000))
    return http.post(
        "/api/chat",
        json={"sender": sender, "message": "你好"},
        headers={"X-Forwarded-For": forwarded_for},
    ).status_code


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(make_client, fake_rasa):
    app = make_client(fake_rasa("normal"), rate_limit_per_address_per_minute=1).app
    assert _post_from(app, "203.0.113.5", "198.51.100.1", "a") == 200
    assert _post_from(app, "203.0.113.5", "198.51.100.2", "b") == 429


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(make_client, fake_rasa):
    app = make_client(
        fake_rasa("normal"), rate_limit_per_address_per_minute=1, trusted_proxies="10.0.0.1"
    ).app
    assert _post_from(app, "10.0.0.1", "198.51.100.1", "a") == 200
    assert _post_from(app, "10.0.0.1", "198.51.100.2", "b") == 200  # someone else
    assert _post_from(app, "10.0.0.1", "198.51.100.1", "c") == 429
    # What the client wrote left of the proxy's entry changes nothing.
    assert _post_from(app, "10.0.0.1", "6.6.6.6, 198.51.100.2", "d") == 429


def test_openapi_shows_the_429(client):
    chat = client.get("/openapi.json").json()["paths"]["/api/chat"]["post"]
    too_many = chat["responses"]["429"]
    assert "Retry-After" in too_many["headers"]
    assert too_many["content"]["application/json"]["example"]["detail"].startswith(SLOW_DOWN)
    assert "429" in chat["description"]


# -- WeChat ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_wechat_over_the_limit_gets_a_reply_and_retries_count_once(clock):
    chat = FakeChatService()
    app = make_app(chat)
    bridge: WeChatBridge = app.state.wechat_bridge
    bridge.limit = RateLimit(2, clock=clock)
    async with wechat_client(app) as http:
        first = text_xml("盲人按摩考试怎么报名", msg_id=7001)
        replies = [await post_plain(http, first) for _ in range(3)]  # WeChat's three tries
        assert read_reply(replies[0].text) == "关于“盲人按摩考试怎么报名”的回答。"
        second = await post_plain(http, text_xml("找谁办", msg_id=7002))
        assert read_reply(second.text) == "关于“找谁办”的回答。"
        third = await post_plain(http, text_xml("还有别的吗", msg_id=7003))
        assert third.status_code == 200
        assert third.headers["content-type"].startswith("application/xml")
        assert read_reply(third.text) == "您发得太快了，请等 30 秒再发。"
        # Its retry gets no second reply; once the wait is over, the next message is answered.
        retry = await post_plain(http, text_xml("还有别的吗", msg_id=7003))
        assert retry.text == "success"
        clock.now += 30
        fourth = await post_plain(http, text_xml("还有别的吗", msg_id=7004))
        assert read_reply(fourth.text) == "关于“还有别的吗”的回答。"
    assert [c["text"] for c in chat.calls] == ["盲人按摩考试怎么报名", "找谁办", "还有别的吗"]


@pytest.mark.anyio
async def test_wechat_limit_comes_from_the_settings_and_skips_rasa(make_settings, fake_rasa):
    rasa = fake_rasa("normal")
    app = create_app(make_settings(rasa, wechat_token="test-wechat-token", rate_limit_per_minute=1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://wechat.test"
    ) as http:
        await post_plain(http, text_xml("你好", msg_id=8001))
        limited = await post_plain(http, text_xml("盲人按摩考试怎么报名", msg_id=8002))
    assert limited.status_code == 200
    assert read_reply(limited.text) == "您发得太快了，请等 60 秒再发。"
    assert len(rasa.received) == 1
    assert len(app.state.conversation_log.turns(channel="wechat")) == 1


# -- uvicorn ---------------------------------------------------------------------------------


def test_uvicorn_trusts_only_the_configured_proxies(make_settings):
    assert launcher.proxy_header_args(make_settings()) == ["--no-proxy-headers"]
    trusted = make_settings(trusted_proxies="127.0.0.1,10.0.0.0/8")
    assert launcher.proxy_header_args(trusted) == [
        "--proxy-headers",
        "--forwarded-allow-ips",
        "127.0.0.1/32,10.0.0.0/8",
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_the_real_gateway_reads_x_forwarded_for_only_from_trusted_proxies(
    make_settings, fake_rasa, trusted
):
    """uvicorn's own default trusts 127.0.0.1: started by the launcher, it must not."""
    settings = make_settings(
        fake_rasa("normal"),
        gateway_port=_free_port(),
        rate_limit_per_address_per_minute=1,
        trusted_proxies=trusted,
    )
    run = launcher.Launcher(settings)
    try:
        base, wait = run.spawn_gateway()
        wait()
        codes = [
            httpx.post(
                base + "/api/chat",
                json={"sender": f"s{i}", "message": "你好"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
                trust_env=False,
                timeout=10,
            ).status_code
            for i in (1, 2)
        ]
    finally:
        run.stop_all()
    assert codes == ([200, 200] if trusted else [200, 429])


def test_the_owners_local_tool_token_is_not_limited_and_a_wrong_one_is(make_client, fake_rasa):
    client = make_client(
        fake_rasa("normal"), rate_limit_per_minute=1, local_tool_token="tool-secret-0123456789"
    )
    body = {"sender": "bench-1", "message": "盲人按摩"}
    for _ in range(5):
        response = client.post(
            "/api/chat", json=body, headers={LOCAL_TOOL_HEADER: "tool-secret-0123456789"}
        )
        assert response.status_code == 200
    limited = [
        client.post("/api/chat", json={**body, "sender": "x"}, headers={LOCAL_TOOL_HEADER: guess})
        for guess in ("", "tool-secret-012345678", "wrong")
    ]
    assert [r.status_code for r in limited] == [200, 429, 429]  # "x" had its one message


def test_no_token_configured_means_no_exemption(make_client, fake_rasa):
    client = make_client(fake_rasa("normal"), rate_limit_per_minute=1)
    statuses = [
        client.post(
            "/api/chat", json={"sender": "y", "message": "你好"}, headers={LOCAL_TOOL_HEADER: ""}
        ).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 429]
