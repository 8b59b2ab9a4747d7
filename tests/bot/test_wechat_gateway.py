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

from bot.app import create_app
from bot.wechat_sim import main as sim_main
from bot.wechat_sim import read_reply
from tests.bot.wechat_fixtures.support import AES_KEY, APP_ID, OPENID, TOKEN, post_plain, text_xml

WECHAT = {"wechat_token": TOKEN, "wechat_app_id": APP_ID, "wechat_encoding_aes_key": AES_KEY}


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
def running_gateway(fake_rasa, make_settings):
    rasa = fake_rasa("normal")
    app = create_app(make_settings(rasa, **WECHAT))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    )  # Rasa pins an old websockets
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/wechat", rasa
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--aes-key", AES_KEY, "--app-id", APP_ID],
        ["--voice"],
        ["--retries", "3"],
    ],
)
def test_simulator_prints_the_reply_as_a_phone_shows_it(running_gateway, capsys, extra):
    url, rasa = running_gateway
    assert sim_main(["盲人按摩考试怎么报名", "--url", url, "--token", TOKEN, *extra]) == 0
    out = capsys.readouterr().out
    assert out.count("关于盲人医疗按摩：盲人按摩考试怎么报名") == 1
    assert "<xml>" not in out and "Encrypt" not in out
    assert len(rasa.received) == 1
    if "--retries" in extra:
        assert out.count("success") == 2


def test_simulator_needs_a_token(capsys):
    with pytest.raises(SystemExit):
        sim_main(["你好", "--token", ""])
    assert "WECHAT_TOKEN" in capsys.readouterr().err
