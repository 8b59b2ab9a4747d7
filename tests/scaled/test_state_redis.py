"""Several gateway instances sharing REDIS_URL and DATABASE_URL answer as one: each test builds
two or three `create_app` objects (each with its own WeChat bridge, as separate workers or
machines have) on a real Redis and PostgreSQL, with the fake Rasa of tests/fakes.py."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import redis

from bot.app import create_app
from bot.chat import retention
from bot.settings import Settings
from bot.wechat.simulator import message_xml, plaintext_request, read_reply
from tests.fakes import FakeRasa
from tests.scaled.services import (
    make_services_dir,
    remove_services_dir,
    run_script,
    running_services,
)
from tests.scaled.state_support import fresh_redis, fresh_schema

TOKEN = "test-wechat-token"
SECRET = "test-secret-key-that-is-long-enough-000"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
# The state helper's own range (6420-6439 / 5460-5479) for the test that kills Redis.
KILL_REDIS_PORT = 6432
KILL_PG_PORT = 5472


@pytest.fixture
def fake_rasa():
    started = []

    def start(mode="normal", **kwargs):
        fake = FakeRasa(mode, **kwargs).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def shared_urls(services):
    """(REDIS_URL, DATABASE_URL) of an empty Redis database and a fresh PostgreSQL schema."""
    redis_url, database_url = services
    with fresh_schema(database_url) as url:
        yield fresh_redis(redis_url), url


def settings_for(tmp_path: Path, rasa: FakeRasa, redis_url: str, database_url: str, **kw):
    values = {
        "app_env": "development",
        "secret_key": SECRET,
        "wechat_token": TOKEN,
        "redis_url": redis_url,
        "database_url": database_url,
        "conversation_db": tmp_path / "not-used.db",
        "rasa_tracker_db": tmp_path / "rasa_tracker.db",
        "knowledge_db": tmp_path / "missing-knowledge.db",
        "log_dir": tmp_path / "logs",
        "rasa_url": rasa.url,
        "action_server_url": rasa.url,
        "rasa_processes": 1,
        "rasa_timeout": 2.5,
        **kw,
    }
    return Settings(_env_file=None, **values)


def instances(n: int, settings: Settings, reply_budget: float | None = None) -> list:
    apps = [create_app(settings) for _ in range(n)]
    if reply_budget is not None:
        for app in apps:
            app.state.wechat_bridge.reply_budget = reply_budget
    return apps


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")


async def close(apps) -> None:
    for app in apps:
        await app.state.wechat_bridge.drain(timeout=5)
        await app.state.chat_service.rasa.aclose()
        app.state.chat_service.close()
        app.state.conversation_log.close()
        await app.state.shared_redis.aclose()


def signed(text: str, msg_id: int):
    return plaintext_request(message_xml(text, msg_id=msg_id, openid=OPENID), TOKEN)


async def deliver(app, request) -> httpx.Response:
    async with client(app) as http:
        return await http.post("/wechat", params=request.params, content=request.body)


def asked(rasa: FakeRasa, text: str) -> int:
    """How many times Rasa was asked this text (session starts are not questions)."""
    return sum(1 for payload in rasa.received if payload.get("message") == text)


def log_rows(app, text: str) -> int:
    return sum(1 for t in app.state.conversation_log.turns() if t["message"] == text)


def test_one_wechat_message_on_three_instances_is_answered_once(tmp_path, fake_rasa, shared_urls):
    rasa = fake_rasa("normal")
    apps = instances(3, settings_for(tmp_path, rasa, *shared_urls))
    request = signed("盲人按摩考试怎么报名", 9001)

    async def scenario():
        try:
            # WeChat's three tries of one message, on three workers: two at once, one later.
            together = await asyncio.gather(deliver(apps[0], request), deliver(apps[1], request))
            later = await deliver(apps[2], request)
            return [*together, later]
        finally:
            await close(apps)

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses] == [200, 200, 200]
    answers = [read_reply(r.text) for r in responses]
    assert answers[0] and "盲人按摩考试怎么报名" in answers[0]
    assert answers == [answers[0]] * 3  # the same answer, worked out once
    assert asked(rasa, "盲人按摩考试怎么报名") == 1
    assert log_rows(apps[0], "盲人按摩考试怎么报名") == 1


def test_a_retry_on_another_instance_takes_the_late_answer_and_it_is_not_repeated(
    tmp_path, fake_rasa, shared_urls
):
    rasa = fake_rasa("slow", slow_seconds=1.0)
    apps = instances(3, settings_for(tmp_path, rasa, *shared_urls), reply_budget=0.6)
    apps[1].state.wechat_bridge.reply_budget = 4.0  # the retry waits as long as WeChat lets it
    first = signed("第一个问题", 9101)

    async def scenario():
        try:
            timed_out = await deliver(apps[0], first)  # Rasa takes 1 s: `success` at 0.6 s
            retry = await deliver(apps[1], first)  # WeChat's retry, elsewhere, gets it
            rasa.mode = "normal"
            await apps[0].state.wechat_bridge.drain(timeout=5)
            following = await deliver(apps[2], signed("第二个问题", 9102))
            return timed_out, retry, following
        finally:
            await close(apps)

    timed_out, retry, following = asyncio.run(scenario())
    assert timed_out.text == "success"
    assert "第一个问题" in read_reply(retry.text)
    second = read_reply(following.text)
    assert "第二个问题" in second and "第一个问题" not in second  # not delivered twice
    assert asked(rasa, "第一个问题") == 1


def test_a_late_answer_rides_along_with_the_next_message_on_another_instance(
    tmp_path, fake_rasa, shared_urls
):
    rasa = fake_rasa("slow", slow_seconds=1.0)
    apps = instances(2, settings_for(tmp_path, rasa, *shared_urls), reply_budget=0.4)

    async def scenario():
        try:
            timed_out = await deliver(apps[0], signed("慢的问题", 9201))
            await apps[0].state.wechat_bridge.drain(timeout=5)  # answered, kept in Redis
            rasa.mode = "normal"
            following = await deliver(apps[1], signed("下一个问题", 9202))
            return timed_out, following
        finally:
            await close(apps)

    timed_out, following = asyncio.run(scenario())
    assert timed_out.text == "success"
    text = read_reply(following.text)
    assert text.startswith("您上一条消息的回答：") and "慢的问题" in text and "下一个问题" in text


def test_numbered_choices_and_more_work_on_another_instance(tmp_path, fake_rasa, shared_urls):
    rasa = fake_rasa("normal")
    apps = instances(2, settings_for(tmp_path, rasa, *shared_urls))

    async def scenario():
        try:
            await deliver(apps[0], signed("盲人按摩", 9301))
            return await deliver(apps[1], signed("1", 9302))  # 回复 1：找谁办
        finally:
            await close(apps)

    asyncio.run(scenario())
    assert rasa.received[-1]["message"] == "/ask_responsible"


def test_the_limits_count_across_instances(tmp_path, fake_rasa, shared_urls):
    rasa = fake_rasa("normal")
    settings = settings_for(tmp_path, rasa, *shared_urls, rate_limit_per_minute=2)
    apps = instances(2, settings)

    async def scenario():
        try:
            chats = []
            for app in (apps[0], apps[1], apps[0]):
                async with client(app) as http:
                    chats.append(
                        await http.post("/api/chat", json={"sender": "k", "message": "你好"})
                    )
            wechat = [
                await deliver(app, signed(f"问题{n}", 9400 + n))
                for n, app in enumerate((apps[1], apps[0], apps[1]))
            ]
            return chats, wechat
        finally:
            await close(apps)

    chats, wechat = asyncio.run(scenario())
    assert [r.status_code for r in chats] == [200, 200, 429]
    assert "秒再发" in chats[2].json()["detail"]
    texts = [read_reply(r.text) for r in wechat]
    assert "问题0" in texts[0] and "问题1" in texts[1]
    assert "您发得太快了" in texts[2]
    assert asked(rasa, "问题2") == 0


def test_the_sign_in_throttle_counts_across_instances(tmp_path, fake_rasa, shared_urls):
    apps = instances(2, settings_for(tmp_path, fake_rasa("normal"), *shared_urls))
    for _ in range(5):
        apps[0].state.login_throttle.failed("10.1.2.3")
    assert apps[1].state.login_throttle.blocked("10.1.2.3")
    assert not apps[1].state.login_throttle.blocked("10.1.2.4")
    apps[1].state.login_throttle.succeeded("10.1.2.3")
    assert not apps[0].state.login_throttle.blocked("10.1.2.3")
    asyncio.run(close(apps))


def test_the_daily_purge_runs_on_one_instance_only(tmp_path, fake_rasa, shared_urls, monkeypatch):
    """Every worker wakes to purge; the first claims the period in Redis, the others skip it."""
    calls = []
    monkeypatch.setattr(retention, "purge", lambda settings: calls.append(1) or [])
    apps = instances(3, settings_for(tmp_path, fake_rasa("normal"), *shared_urls))

    async def scenario():
        try:
            await asyncio.gather(*(app.state.retention.run_once() for app in apps))
        finally:
            await close(apps)

    asyncio.run(scenario())
    workers = [app.state.retention for app in apps]
    assert len(calls) == 1
    assert sorted((w.runs, w.skipped) for w in workers) == [(0, 1), (0, 1), (1, 0)]


def test_redis_killed_mid_test_answers_go_on_and_the_bridge_recovers(tmp_path, fake_rasa):
    """kill -9 of Redis: every request is still answered (no 500, no stall), and once Redis
    is started again the instances share their state again without a restart."""
    folder = make_services_dir("state-kill-")
    rasa = fake_rasa("normal")
    try:
        with running_services(folder, KILL_REDIS_PORT, KILL_PG_PORT) as (redis_url, pg_url):
            apps = instances(2, settings_for(tmp_path, rasa, redis_url, pg_url))

            async def scenario():
                try:
                    before = await deliver(apps[0], signed("之前", 9501))
                    pid = int((folder / "redis" / "redis.pid").read_text())
                    os.kill(pid, signal.SIGKILL)
                    while _alive(pid):
                        await asyncio.sleep(0.05)
                    started = time.monotonic()
                    during = [
                        await deliver(apps[n % 2], signed(f"期间{n}", 9510 + n)) for n in range(4)
                    ]
                    async with client(apps[1]) as http:
                        chat = await http.post("/api/chat", json={"sender": "k", "message": "你好"})
                        health_during = (await http.get("/healthz")).json()
                    during_seconds = time.monotonic() - started
                    await asyncio.to_thread(
                        run_script, folder, KILL_REDIS_PORT, KILL_PG_PORT, "start", "redis"
                    )
                    await asyncio.sleep(1.1)  # past the back-off after the last failure
                    again = signed("之后", 9520)
                    after = await asyncio.gather(deliver(apps[0], again), deliver(apps[1], again))
                    async with client(apps[1]) as http:
                        health_after = (await http.get("/healthz")).json()
                    health = (health_during, health_after)
                    return before, during, chat, during_seconds, after, health
                finally:
                    await close(apps)

            before, during, chat, during_seconds, after, health = asyncio.run(scenario())
            shared = redis.Redis.from_url(redis_url)
            try:
                assert shared.ping()
            finally:
                shared.close()
    finally:
        remove_services_dir(folder)
    assert "之前" in read_reply(before.text)
    for n, response in enumerate(during):
        assert response.status_code == 200 and f"期间{n}" in read_reply(response.text)
    assert chat.status_code == 200 and chat.json()["replies"]
    assert during_seconds < 5, during_seconds  # no waiting for a dead Redis on every call
    # Back in Redis: the same message on both instances is answered once again.
    assert [read_reply(r.text) for r in after] == [read_reply(after[0].text)] * 2
    assert asked(rasa, "之后") == 1
    # /healthz says where the shared state is and whether Redis answers; the gateway itself
    # stays up either way (its workers answer alone meanwhile).
    during_state, after_state = (h["gateway"]["shared_state"] for h in health)
    assert during_state["kind"] == "redis" and during_state["reachable"] is False
    assert after_state["reachable"] is True and after_state["failures"] >= 1
    assert all(h["gateway"]["ok"] for h in health)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
