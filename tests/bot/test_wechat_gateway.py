"""The bridge inside the real gateway (create_app, ChatService, conversation log) with the fake
Rasa from tests/fakes.py, and the simulator against a running server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn

import bot.wechat.simulator
from bot import deps
from bot.app import create_app
from bot.settings import Settings
from bot.wechat.bridge import WeChatBridge
from bot.wechat.simulator import Try, build_parser, read_reply, report, safe_mode_request
from bot.wechat.simulator import main as sim_main
from tests.bot.wechat_fixtures.fake_wechat_api import FakeWeChatAPI
from tests.bot.wechat_fixtures.support import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    OPENID,
    TOKEN,
    FakeChatService,
    answer,
    fixture_xml,
    post_plain,
    read_safe_reply,
    text_xml,
)

WECHAT = {"wechat_token": TOKEN}  # plaintext mode: no EncodingAESKey configured
WECHAT_SAFE = {**WECHAT, "wechat_app_id": APP_ID, "wechat_encoding_aes_key": AES_KEY}
SIM_VARIABLES = (
    "WECHAT_TOKEN",
    "WECHAT_APP_ID",
    "WECHAT_ENCODING_AES_KEY",
    "GATEWAY_HOST",
    "GATEWAY_PORT",
    "APP_ENV",
    "SECRET_KEY",
)


@pytest.fixture
def anyio_backend():
    return "asyncio"


def asgi_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wechat.test")


def wechat_rows(app) -> list[dict]:
    return app.state.conversation_log.turns(channel="wechat")


@pytest.mark.anyio
async def test_triple_delivery_through_the_gateway_gives_one_rasa_call_one_log_row(
    fake_rasa, make_settings
):
    rasa = fake_rasa("normal")
    app = create_app(make_settings(rasa, **WECHAT))
    async with asgi_client(app) as http:
        xml = text_xml("盲人按摩考试怎么报名", msg_id=9_000_001)
        replies = [read_reply((await post_plain(http, xml)).text) for _ in range(3)]
    answered = [r for r in replies if r is not None]
    assert len(answered) == 1
    assert "关于盲人医疗按摩：盲人按摩考试怎么报名" in answered[0]
    assert "依据：黄政办发〔2022〕60号 二（八）13「积极开展盲人按摩就业促进行动」" in answered[0]
    assert "负责部门：各县（市、区）人民政府、市残联、市人社局、市卫健委" in answered[0]
    assert "回复 1：找谁办" in answered[0]
    assert len(rasa.received) == 1
    rows = wechat_rows(app)
    assert len(rows) == 1
    assert rows[0]["message"] == "盲人按摩考试怎么报名"
    assert OPENID not in json.dumps(rows, ensure_ascii=False)  # never stored raw


@pytest.mark.anyio
async def test_concurrent_retries_through_the_gateway(fake_rasa, make_settings):
    rasa = fake_rasa("slow", slow_seconds=0.5)
    app = create_app(make_settings(rasa, **WECHAT))
    async with asgi_client(app) as http:
        xml = text_xml("盲人按摩考试怎么报名", msg_id=9_000_002)
        responses = await asyncio.gather(*(post_plain(http, xml) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert sum(read_reply(r.text) is not None for r in responses) == 1
    assert len(rasa.received) == 1
    assert len(wechat_rows(app)) == 1


@pytest.mark.anyio
async def test_number_reply_reaches_rasa_as_the_button_payload(fake_rasa, make_settings):
    rasa = fake_rasa("normal")
    app = create_app(make_settings(rasa, **WECHAT))
    async with asgi_client(app) as http:
        await post_plain(http, text_xml("盲人按摩考试怎么报名"))
        await post_plain(http, text_xml("1"))
    assert [m["message"] for m in rasa.received] == ["盲人按摩考试怎么报名", "/ask_responsible"]


@pytest.mark.anyio
async def test_safe_mode_triple_delivery_through_the_gateway_gives_one_answer(
    fake_rasa, make_settings
):
    """WeChat's retries come with a fresh nonce; an exact replay of a request is a retry too."""
    rasa = fake_rasa("normal")
    app = create_app(make_settings(rasa, **WECHAT_SAFE))
    async with asgi_client(app) as http:
        xml = text_xml("盲人按摩考试怎么报名", msg_id=9_000_003)
        first = safe_mode_request(xml, TOKEN, AES_KEY, APP_ID, nonce="retry1")
        retry = safe_mode_request(xml, TOKEN, AES_KEY, APP_ID, nonce="retry2")
        responses = [
            await http.post("/wechat", params=signed.params, content=signed.body)
            for signed in (first, retry, retry)
        ]
        plain = await post_plain(http, text_xml("伪造的明文", msg_id=9_000_004))
    assert [r.status_code for r in responses] == [200, 200, 200]
    replies = [read_safe_reply(r.text) for r in responses]
    assert "关于盲人医疗按摩" in replies[0]
    assert replies[1:] == [None, None]
    assert plain.status_code == 403
    assert [m["message"] for m in rasa.received] == ["盲人按摩考试怎么报名"]
    assert len(wechat_rows(app)) == 1


@pytest.mark.anyio
async def test_bad_signature_through_the_gateway_logs_nothing(fake_rasa, make_settings):
    rasa = fake_rasa("normal")
    app = create_app(make_settings(rasa, **WECHAT))
    async with asgi_client(app) as http:
        r = await post_plain(http, text_xml("盲人按摩"), token="not-the-token")
        big = await post_plain(http, "<xml>" + "A" * (10 * 1024 * 1024) + "</xml>")
    assert r.status_code == 403
    assert big.status_code == 413
    assert rasa.received == []
    assert wechat_rows(app) == []


def _free_port() -> int:
    for port in range(18250, 18300):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 18250-18299")


@pytest.fixture
def start_gateway(fake_rasa, make_settings):
    """Run the real gateway on a free port: start(**settings) -> (url, port, fake Rasa)."""
    servers = []

    def start(**settings):
        rasa = fake_rasa("normal")
        app = create_app(make_settings(rasa, **settings))
        port = _free_port()
        # ws="none": Rasa pins an old websockets. log_config=None: uvicorn's dictConfig would
        # close every existing logging handler, and absl's (imported with TensorFlow by an
        # earlier knowledge-base build) then closes pytest's captured stderr with it.
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="none", log_config=None
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}/wechat", port, rasa

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def sim_settings(monkeypatch):
    """The simulator's settings object, given here, with nothing from the real environment."""

    def use(**values) -> None:
        for name in SIM_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        settings = Settings(_env_file=None, **values)
        monkeypatch.setattr(bot.wechat.simulator, "get_settings", lambda: settings)

    use()
    return use


@pytest.mark.parametrize(
    "extra, wechat",
    [
        ([], WECHAT),
        (["--aes-key", AES_KEY, "--app-id", APP_ID], WECHAT_SAFE),
        (["--voice"], WECHAT),
        (["--retries", "3"], WECHAT),
        (["--retries", "3", "--aes-key", AES_KEY, "--app-id", APP_ID], WECHAT_SAFE),
    ],
)
def test_simulator_prints_the_reply_as_a_phone_shows_it(
    start_gateway, sim_settings, capsys, extra, wechat
):
    url, _port, rasa = start_gateway(**wechat)
    assert sim_main(["盲人按摩考试怎么报名", "--url", url, "--token", TOKEN, *extra]) == 0
    out = capsys.readouterr().out
    assert out.count("关于盲人医疗按摩：盲人按摩考试怎么报名") == 1
    assert "<xml>" not in out and "Encrypt" not in out
    assert len(rasa.received) == 1
    if "--retries" in extra:
        assert out.count("success") == 2
        # One try brought the answer: nothing may claim it is still on its way.
        assert "客服消息" not in out and "稍后" not in out


def test_simulator_takes_token_keys_and_url_from_the_settings(start_gateway, sim_settings, capsys):
    """Nothing on the command line: token, AppID, AES key, host and port all come from the
    gateway's settings (environment or .env), and safe mode follows WECHAT_ENCODING_AES_KEY."""
    _url, port, rasa = start_gateway(**WECHAT_SAFE)
    sim_settings(
        wechat_token=TOKEN,
        wechat_app_id=APP_ID,
        wechat_encoding_aes_key=AES_KEY,
        gateway_host="0.0.0.0",  # listening everywhere: the simulator talks to 127.0.0.1
        gateway_port=port,
    )
    assert sim_main(["盲人按摩考试怎么报名"]) == 0
    out = capsys.readouterr().out
    assert out.count("关于盲人医疗按摩：盲人按摩考试怎么报名") == 1
    assert len(rasa.received) == 1
    # --plaintext proves the default really was safe mode: that gateway refuses plaintext.
    assert sim_main(["盲人按摩考试怎么报名", "--plaintext"]) == 0
    out = capsys.readouterr().out
    assert "HTTP 403" in out and "WECHAT_ENCODING_AES_KEY" in out
    assert len(rasa.received) == 1


def test_simulator_reads_a_dotenv_file(monkeypatch, tmp_path):
    for name in SIM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"WECHAT_TOKEN={TOKEN}\nWECHAT_APP_ID={APP_ID}\nWECHAT_ENCODING_AES_KEY={AES_KEY}\n"
        "GATEWAY_PORT=18555\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(bot.wechat.simulator, "get_settings", lambda: Settings(_env_file=env_file))
    args = build_parser(bot.wechat.simulator.get_settings()).parse_args([])
    assert (args.token, args.app_id, args.aes_key) == (TOKEN, APP_ID, AES_KEY)
    assert args.url == "http://127.0.0.1:18555/wechat"


def test_simulator_default_url_follows_gateway_host_and_port(sim_settings):
    sim_settings(gateway_host="10.1.2.3", gateway_port=18555)
    args = build_parser(bot.wechat.simulator.get_settings()).parse_args([])
    assert args.url == "http://10.1.2.3:18555/wechat"


def test_every_simulator_option_has_help():
    parser = build_parser(None)
    for action in parser._actions:
        assert action.help and action.help.strip(), action.dest
    text = parser.format_help()
    for option in ("--url", "--token", "--app-id", "--aes-key", "--plaintext", "--retries"):
        assert option in text


def test_simulator_reports_what_each_try_really_got():
    answered = report([Try(200, 0.3, "回答正文"), Try(200, 0.3, None), Try(403, 0.0, error="no")])
    assert "回答正文" in answered and "success" in answered and "HTTP 403" in answered
    assert "客服消息" not in answered
    # Only when no try brought an answer does the simulator say where it may still come from.
    nothing = report([Try(200, 4.5, None), Try(200, 4.5, None)])
    assert nothing.count("success") == 2 and "客服消息" in nothing


def test_simulator_needs_a_token(sim_settings, capsys):
    with pytest.raises(SystemExit):
        sim_main(["你好"])
    assert "WECHAT_TOKEN" in capsys.readouterr().err


# -- shutdown and the event loop ----------------------------------------------------------------


@pytest.mark.anyio
async def test_shutdown_waits_for_a_late_answer_to_be_delivered(make_settings):
    chat = FakeChatService(delay=0.5, reply_for=lambda text: answer(f"迟到的回答：{text}"))
    with FakeWeChatAPI(APP_ID, APP_SECRET) as api:
        settings = make_settings(
            **WECHAT,
            wechat_app_id=APP_ID,
            wechat_app_secret=APP_SECRET,
            wechat_api_base=api.base_url,
        )
        app = create_app(settings)
        app.dependency_overrides[deps.chat_service] = lambda: chat
        app.state.wechat_bridge.reply_budget = 0.1  # the app's own bridge: shutdown drains it
        async with app.router.lifespan_context(app):
            async with asgi_client(app) as http:
                assert (await post_plain(http, text_xml("盲人按摩考试"))).text == "success"
            assert api.delivered == []  # still being answered when shutdown begins
        assert [m["text"]["content"] for m in api.delivered] == ["迟到的回答：盲人按摩考试"]


@pytest.mark.anyio
async def test_drain_gives_up_after_its_timeout_and_says_what_is_left(caplog):
    bridge = WeChatBridge()
    never = asyncio.ensure_future(asyncio.sleep(30))
    bridge._background.add(never)
    try:
        assert await bridge.drain(timeout=0.1) is False
    finally:
        never.cancel()
    assert "1 WeChat answer(s) not yet delivered" in caplog.text


@pytest.mark.anyio
async def test_the_welcome_opens_the_knowledge_base_off_the_event_loop(
    fake_rasa, make_settings, monkeypatch
):
    from bot.wechat import answering

    on_loop = []

    def spy(knowledge_db, retention_days):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return "欢迎"

    monkeypatch.setattr(answering, "welcome", spy)
    app = create_app(make_settings(fake_rasa("normal"), **WECHAT))
    async with asgi_client(app) as http:
        reply = read_reply((await post_plain(http, fixture_xml("subscribe.xml"))).text)
    assert reply.startswith("欢迎") and on_loop == [False]
