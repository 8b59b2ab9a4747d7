"""The scaled topology for real (`make test-scaled`): the launcher as `make run-scaled` starts
it (two Rasa instances on Rasa's SQL tracker store in PostgreSQL and its Redis lock store, two
action servers, two gateway workers), on Redis and PostgreSQL of this module's own, which it
kills.

In the order they run: 100 people for two minutes spread over both Rasa instances with no
fallback; a conversation carries on with its context on the other Rasa instance when the one
that served it is killed; `kill -9` of Redis, then of PostgreSQL: the hotline fallback (or a
normal answer) and never a 5xx, and answering again once the service is back, without a
restart of the assistant.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from bot.chat.ids import RASA_SENDER, keyed_digest
from bot.chat.rasa_client import RasaClient
from tests.bench import procfs, replies
from tests.bench.load import person_clients
from tests.bench.questions import QUESTIONS
from tests.bench.stats import summary
from tests.scaled.services import (
    make_services_dir,
    remove_services_dir,
    run_script,
    running_services,
)
from tests.scaled.stack import SECRET_KEY, ScaledStack, missing_inputs, running_stack

# The topology helper's ranges; overridable, so two people can run them at once.
REDIS_PORT = int(os.environ.get("SCALED_STACK_REDIS_PORT", "6440"))
PG_PORT = int(os.environ.get("SCALED_STACK_PG_PORT", "5480"))
GATEWAY_PORT = int(os.environ.get("SCALED_STACK_GATEWAY_PORT", "8600"))
RASA_PORT = int(os.environ.get("SCALED_STACK_RASA_PORT", "5600"))
ACTION_PORT = int(os.environ.get("SCALED_STACK_ACTION_PORT", "5620"))

PEOPLE = 100
LOAD_SECONDS = 120
# People read an answer before they ask again: a pause of 4-12 s (8 on average) before every
# question, the first included so that arrivals spread out. Without pauses two cores answer
# about 40 a second and a hundred people asking at once are told "很多人在问" (docs/benchmarks.md).
THINK_SECONDS = (4.0, 12.0)
# Everyday questions; "我要找人工" is left out: its right answer is the hand-off.
LOAD_QUESTIONS = [q for q in QUESTIONS if q != "我要找人工"]
RECOVERY_SECONDS = 60
RASA_BACK_SECONDS = 240  # a killed Rasa instance is restarted by the launcher and reloads


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    missing = missing_inputs()
    if missing:
        pytest.fail(f"the scaled stack needs {', '.join(missing)}: run `make setup` first")
    folder = make_services_dir("scaled-stack-")
    work = tmp_path_factory.mktemp("scaled_stack")
    try:
        with (
            running_services(folder, REDIS_PORT, PG_PORT) as (redis_url, database_url),
            running_stack(
                work, redis_url, database_url, GATEWAY_PORT, RASA_PORT, ACTION_PORT
            ) as running,
        ):
            running.services_dir = folder
            yield running
    finally:
        remove_services_dir(folder)


def ask(stack: ScaledStack, sender: str, message: str, headers=None) -> httpx.Response:
    return httpx.post(
        stack.base + "/api/chat",
        json={"sender": sender, "message": message},
        headers=headers,
        timeout=15,
        trust_env=False,
    )


def outcome(response: httpx.Response) -> str:
    return replies.classify(response.status_code, response.json())


def wait_until_healthy(stack: ScaledStack, seconds: float) -> None:
    """Every part up (a Rasa instance killed by an earlier test is back)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(stack.base + "/healthz", timeout=5, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"the stack was not healthy within {seconds:.0f} s")


def rasa_cpu_seconds(stack: ScaledStack) -> dict[str, float]:
    """CPU time used so far by each Rasa instance, by its URL."""
    used = {}
    for entry in stack.processes["rasa"]:
        seconds = procfs.cpu_seconds(entry["pid"])
        assert seconds is not None, entry
        used[entry["url"]] = seconds
    return used


# --- 100 people --------------------------------------------------------------------------


async def people_asking(
    stack: ScaledStack,
) -> tuple[list[tuple[float, str, bool]], float, list[str]]:
    """PEOPLE people for LOAD_SECONDS, each a conversation of their own asking one question
    after another with a reading pause before each; (ms, outcome, handoff) of every reply,
    the seconds the run took, and what went wrong with each reply that was not an answer."""
    clients = person_clients(PEOPLE, 10.0, stack.headers)
    results: list[tuple[float, str, bool]] = []
    problems: list[str] = []
    began = time.perf_counter()
    deadline = began + LOAD_SECONDS

    async def person(k: int) -> None:
        rng = random.Random(20261129 + k)
        turn = k
        while True:
            await asyncio.sleep(rng.uniform(*THINK_SECONDS))
            if time.perf_counter() >= deadline:
                return
            question = LOAD_QUESTIONS[turn % len(LOAD_QUESTIONS)]
            turn += 1
            started = time.perf_counter()
            try:
                response = await clients[k].post(
                    stack.base + "/api/chat",
                    json={"sender": f"scaled-load-{k}", "message": question},
                )
                body = response.json()
                result = (replies.classify(response.status_code, body), bool(body["handoff"]))
                if result[0] != replies.ANSWER:
                    problems.append(f"{question}: HTTP {response.status_code} {response.text[:200]}")
            except httpx.TimeoutException as exc:
                result = (replies.TIMEOUT, False)
                problems.append(f"{question}: {type(exc).__name__} {exc}")
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                result = (replies.ERROR, False)
                problems.append(f"{question}: {type(exc).__name__} {exc}")
            results.append(((time.perf_counter() - started) * 1000, *result))

    try:
        await asyncio.gather(*(person(k) for k in range(PEOPLE)))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return results, time.perf_counter() - began, problems


def test_a_hundred_people_for_two_minutes_over_both_rasa_instances(stack):
    wait_until_healthy(stack, RASA_BACK_SECONDS)
    before = rasa_cpu_seconds(stack)
    results, seconds, problems = asyncio.run(people_asking(stack))
    after = rasa_cpu_seconds(stack)

    outcomes = {kind: sum(r[1] == kind for r in results) for kind in {r[1] for r in results}}
    latency = summary([r[0] for r in results])
    used = {url: round(after[url] - before[url], 1) for url in after}
    print(
        f"\n{PEOPLE} people for {seconds:.0f} s, {THINK_SECONDS[0]:.0f}-{THINK_SECONDS[1]:.0f} s "
        f"between questions: {len(results)} replies ({len(results) / seconds:.1f}/s), "
        f"outcomes {outcomes}, latency ms {latency}, Rasa CPU s {used}"
    )
    assert len(results) >= PEOPLE * LOAD_SECONDS / THINK_SECONDS[1], "too few questions asked"
    assert outcomes == {replies.ANSWER: len(results)}, (outcomes, problems)
    assert not any(handoff for _, _, handoff in results), "a hand-off reply under load"
    # Both Rasa instances did a fair share of the work.
    total = sum(used.values())
    assert len(used) == 2 and all(share >= 0.25 * total for share in used.values()), used


# --- a Rasa instance killed ----------------------------------------------------------------


def test_a_conversation_continues_on_the_other_rasa_instance_with_its_context(stack):
    wait_until_healthy(stack, RASA_BACK_SECONDS)
    sender = f"scaled-failover-{int(time.time())}"
    first = ask(stack, sender, "盲人按摩考试谁组织")
    assert first.status_code == 200
    first_body = first.json()
    assert first_body["sources"] and first_body["sources"][0]["item"] == 13, first_body
    departments = first_body["sources"][0]["departments"]
    assert departments

    # The instance that keeps this conversation, as the gateway chooses it.
    rasa = stack.processes["rasa"]
    client = RasaClient([entry["url"] for entry in rasa], "", 1.0)
    own = client.backend_for(keyed_digest(SECRET_KEY, RASA_SENDER, f"api:{sender}")).url
    [entry] = [e for e in rasa if e["url"] == own]
    os.kill(entry["pid"], signal.SIGKILL)
    # The next message comes once it is gone (a message in flight at the moment it dies gets
    # the hotline fallback: the dead instance may have processed part of it).
    gone = time.monotonic() + 10
    while stack.rasa_status_ok(own):
        assert time.monotonic() < gone, "the killed Rasa instance still answers"
        time.sleep(0.1)

    follow_up = ask(stack, sender, "那找谁")
    # Still down (the launcher restarts it, and it loads its model for tens of seconds): the
    # answer came from the other instance, which read the conversation from PostgreSQL.
    assert not stack.rasa_status_ok(own)
    assert follow_up.status_code == 200
    body = follow_up.json()
    assert outcome(follow_up) == replies.ANSWER, body
    assert body["handoff"] is False, body
    assert body["sources"] and body["sources"][0]["item"] == 13, body
    text = body["replies"][0]["text"]
    assert all(department in text for department in departments), (departments, text)


# --- Redis and PostgreSQL killed ----------------------------------------------------------


def kill_service(stack: ScaledStack, which: str) -> None:
    """kill -9 of this module's Redis, or of its PostgreSQL server and every process of it
    (as a crash of its machine would), found by the pid files in its own folder."""
    folder = stack.services_dir
    if which == "redis":
        pid = int((folder / "redis" / "redis.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        return
    pid = int((folder / "postgres" / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    os.kill(pid, signal.SIGKILL)
    for child in children:
        try:
            os.kill(int(child), signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_service(stack: ScaledStack, which: str) -> None:
    """Start it again with the project's script; PostgreSQL may need a moment until the
    killed server's last processes are gone."""
    deadline = time.monotonic() + 60
    while True:
        try:
            run_script(stack.services_dir, REDIS_PORT, PG_PORT, "start", which)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def replies_during_outage(stack: ScaledStack, tag: str, count: int = 5) -> list[str]:
    """Outcomes of `count` people asking one question each, a second apart: every one a
    reply (200), never a server error."""
    seen = []
    for number in range(count):
        response = ask(stack, f"{tag}-{number}", "盲人按摩考试谁组织")
        assert response.status_code == 200, (response.status_code, response.text[:300])
        seen.append(outcome(response))
        time.sleep(1)
    assert set(seen) <= {replies.ANSWER, replies.UNAVAILABLE}, seen
    return seen


def answering_again(stack: ScaledStack, tag: str) -> httpx.Response:
    """Poll (a new person every 2 s) until a real answer comes; fail after RECOVERY_SECONDS."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    number = 0
    while time.monotonic() < deadline:
        number += 1
        response = ask(stack, f"{tag}-{number}", "盲人按摩考试谁组织")
        assert response.status_code < 500, (response.status_code, response.text[:300])
        if outcome(response) == replies.ANSWER and response.json()["sources"]:
            return response
        time.sleep(2)
    pytest.fail(f"no real answer within {RECOVERY_SECONDS} s of the service's return")


def test_redis_killed_gives_the_hotline_and_recovers_without_a_restart(stack):
    wait_until_healthy(stack, RASA_BACK_SECONDS)
    pids = {entry["pid"] for entry in stack.processes["rasa"]}
    kill_service(stack, "redis")
    try:
        seen = replies_during_outage(stack, "scaled-redis-down")
    finally:
        start_service(stack, "redis")
    # Rasa cannot take a conversation's lock without Redis: the hotline fallback.
    assert replies.UNAVAILABLE in seen, seen
    answer = answering_again(stack, "scaled-redis-back")
    assert answer.json()["sources"][0]["item"] == 13
    assert {entry["pid"] for entry in stack.processes["rasa"]} == pids, "Rasa was restarted"


def test_postgresql_killed_gives_no_server_error_and_recovers_without_a_restart(stack):
    wait_until_healthy(stack, RASA_BACK_SECONDS)
    pids = {entry["pid"] for entry in stack.processes["rasa"]}
    kill_service(stack, "postgres")
    try:
        # Rasa falls back to trackers in its memory when its store fails (its
        # FailSafeTrackerStore), so people may still get real answers; the gateway's log
        # writes fail and are counted, never shown.
        replies_during_outage(stack, "scaled-postgres-down")
    finally:
        start_service(stack, "postgres")
    tag = f"scaled-postgres-back-{int(time.time())}"
    deadline = time.monotonic() + RECOVERY_SECONDS
    engine = sqlalchemy.create_engine(stack.database_url)
    try:
        # Back in PostgreSQL: the turn in the conversation log, the conversation in Rasa's
        # tracker store (events of a sender never seen before the outage).
        while True:
            answer = answering_again(stack, tag)
            answer_id = answer.headers.get("x-answer-id")
            with engine.connect() as connection:
                logged = (
                    answer_id
                    and connection.execute(
                        sqlalchemy.text("SELECT count(*) FROM turns WHERE id = :id"),
                        {"id": answer_id},
                    ).scalar()
                )
                events = connection.execute(
                    sqlalchemy.text("SELECT count(*) FROM events WHERE timestamp > :since"),
                    {"since": time.time() - 5},
                ).scalar()
            if logged and events:
                break
            assert time.monotonic() < deadline, (answer_id, logged, events)
            time.sleep(2)
    finally:
        engine.dispose()
    assert {entry["pid"] for entry in stack.processes["rasa"]} == pids, "Rasa was restarted"
