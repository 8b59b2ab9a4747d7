"""The line in front of Rasa: a crowd gets answers at Rasa's pace, and whoever cannot be
answered in time hears "很多人在问" within 3 s, without Rasa working on their message."""

from __future__ import annotations

import asyncio
import time

import yaml

from bot.chat.conversation_log import ConversationLog
from bot.chat.rasa_client import SESSION_START, RasaBusy, RasaClient, RasaUnavailable
from bot.chat.service import BUSY_KIND, BUSY_TEXT, ChatService
from bot.cli import topology
from bot.settings import Settings

SECRET = "test-secret-key-that-is-long-enough-000"


async def _crowd(client: RasaClient, senders: list[str], budget: float) -> list[object]:
    async def one(sender: str):
        deadline = time.monotonic() + budget
        try:
            return await client.send(sender, "盲人按摩", deadline)
        except RasaUnavailable as exc:
            return exc

    try:
        return await asyncio.gather(*(one(s) for s in senders))
    finally:
        await client.aclose()


def test_a_crowd_is_answered_in_line_and_the_rest_turned_away_unsent(fake_rasa):
    rasa = fake_rasa("slow", slow_seconds=0.25)
    client = RasaClient(rasa.url, rasa.url, timeout=2.0, concurrency=1)
    started = time.monotonic()
    results = asyncio.run(_crowd(client, [f"p{i}" for i in range(20)], budget=1.2))
    took = time.monotonic() - started

    answered = [r for r in results if isinstance(r, list)]
    busy = [r for r in results if isinstance(r, RasaBusy)]
    assert len(answered) + len(busy) == 20  # nobody got "unavailable": Rasa was never late
    # One at a time, 0.25 s each, within 1.2 s: a handful answered, never all of them.
    assert 2 <= len(answered) <= 5 and busy
    assert took < 1.2 + 0.3
    # No work for a message nobody waits for: Rasa saw exactly the answered ones.
    assert len(rasa.received) == len(answered)


def test_without_a_deadline_everyone_waits_their_turn(fake_rasa):
    rasa = fake_rasa("slow", slow_seconds=0.05)
    client = RasaClient(rasa.url, rasa.url, timeout=2.0, concurrency=1)

    async def all_of_them():
        try:
            return await asyncio.gather(*(client.send(f"s{i}", "你好") for i in range(6)))
        finally:
            await client.aclose()

    assert all(isinstance(r, list) for r in asyncio.run(all_of_them()))
    assert len(rasa.received) == 6


def test_busy_replies_come_in_time_and_are_not_counted_unanswered(fake_rasa, tmp_path):
    rasa = fake_rasa("slow", slow_seconds=0.4)
    log = ConversationLog(tmp_path / "c.db", SECRET)
    service = ChatService(RasaClient(rasa.url, rasa.url, 2.0, concurrency=1), log, SECRET)

    async def crowd():
        try:
            return await asyncio.gather(
                *(
                    service.reply(conversation_id=f"c{i}", channel="web", text="盲人按摩")
                    for i in range(12)
                )
            )
        finally:
            await service.rasa.aclose()

    started = time.monotonic()
    replies = asyncio.run(crowd())
    assert time.monotonic() - started < 3.0
    service.close()
    busy = [r for r in replies if r.kind == BUSY_KIND]
    assert busy and len(busy) < 12
    assert all(r.replies[0]["text"] == BUSY_TEXT and not r.handoff for r in busy)
    assert all("12385" in BUSY_TEXT for _ in busy)  # a way out that is not a guess
    assert log.unanswered() == []  # the busy ones are not "questions we could not answer"
    log.close()


def test_a_conversation_always_goes_to_the_same_rasa(fake_rasa):
    first, second = fake_rasa("normal"), fake_rasa("normal")
    client = RasaClient([first.url, second.url], first.url, timeout=2.0)
    senders = [f"person-{i}" for i in range(40)]

    async def talk():
        try:
            for _ in range(2):
                for sender in senders:
                    await client.send(sender, "你好")
        finally:
            await client.aclose()

    asyncio.run(talk())
    one = {m["sender"] for m in first.received}
    two = {m["sender"] for m in second.received}
    assert one and two and not one & two  # both used, no conversation split
    assert len(first.received) + len(second.received) == 80


def test_rasa_processes_take_the_ports_after_rasa_url():
    settings = Settings(_env_file=None, rasa_url="http://127.0.0.1:15005", rasa_processes=3)
    assert settings.rasa_urls == [
        "http://127.0.0.1:15005",
        "http://127.0.0.1:15006",
        "http://127.0.0.1:15007",
    ]


def test_every_rasa_process_shares_the_tracker_store(tmp_path):
    settings = Settings(
        _env_file=None, rasa_tracker_db=tmp_path / "rasa_tracker.db", rasa_processes=2
    )
    first = yaml.safe_load(topology.write_endpoints(settings, tmp_path / "run", 0).read_text())
    second = yaml.safe_load(topology.write_endpoints(settings, tmp_path / "run", 1).read_text())
    assert first["tracker_store"]["db"] == str(tmp_path / "rasa_tracker.db")
    assert first == second


def test_a_conversation_moves_to_another_rasa_while_its_own_is_down(fake_rasa):
    alive, down = fake_rasa("normal"), fake_rasa("down")
    client = RasaClient([down.url, alive.url], alive.url, timeout=2.0)
    senders = [f"person-{i}" for i in range(20)]

    async def talk():
        try:
            return [await client.send(s, "你好") for s in senders]
        finally:
            await client.aclose()

    replies = asyncio.run(talk())
    assert all(isinstance(r, list) and r for r in replies)
    assert len(alive.received) == 20
    assert client.backends[0].down_until > time.monotonic()  # tried last for a while


def test_healthz_shows_the_line(make_client, fake_rasa):
    client = make_client(fake_rasa("normal"))
    client.post("/api/chat", json={"sender": "a", "message": "你好"})
    line = client.get("/healthz").json()["gateway"]["rasa_line"]
    assert line == [{"url": line[0]["url"], "in_flight": 0, "waiting": 0, "turned_away": 0}]


def test_a_long_conversation_starts_a_new_rasa_session_every_few_turns(fake_rasa):
    rasa = fake_rasa("normal")
    client = RasaClient(rasa.url, rasa.url, timeout=2.0, session_turns=4)

    async def talk():
        try:
            for turn in range(9):
                await client.send("long", f"问题{turn}")
                await client.send("other", "你好")
        finally:
            await client.aclose()

    asyncio.run(talk())
    long = [m["message"] for m in rasa.received if m["sender"] == "long"]
    assert long == [
        "问题0", "问题1", "问题2", "问题3", SESSION_START,
        "问题4", "问题5", "问题6", "问题7", SESSION_START, "问题8",
    ]  # fmt: skip
    assert [m["message"] for m in rasa.received if m["sender"] == "other"].count(SESSION_START) == 2
