"""The WeChat bridge's state shared in Redis (REDIS_URL), so that a retry of WeChat that reaches
another worker or another machine still gets exactly one answer.

- **Claims** (`RedisClaims`): the first worker to see a message key sets
  `wechat:msg:<key>` with SET NX (`working`, expiring after `WORKING_SECONDS`, so a worker
  that died does not hold the message for ever) and answers it; the finished answer replaces
  the claim for `KEEP_SECONDS`. A retry on another worker finds the claim and polls for the
  answer until its own reply budget runs out, and replies with it. `wechat:msg:<key>:taken`
  (SET NX) says how it went out: as a passive reply (any later retry may repeat it: WeChat
  reads only the reply of the request it still waits on) or late, pushed or kept for the
  next message by the worker that answered (then nobody repeats it). One answer, once.
  `LocalClaims` is the same interface for one worker alone: every message is its own.
- **Per-user memory** (`RedisSessions`): the last answer's numbered choices, the parts not
  yet shown (更多) and the easy-read summaries in `wechat:session:<id>`; an answer that came
  too late and could not be pushed in `wechat:pending:<id>`, taken (GETDEL) by the user's next
  message on any worker. Both expire after a day, as the memory ones are forgotten.
- **Replay guard** (`RedisReplayGuard`): a signed query belongs to the first message it came
  with, `wechat:replay:<hash>` for twice WeChat's allowed clock skew.

Redis down (`RedisDown`): claims let the message be answered here (no cross-worker guarantee,
logged once by bot/shared_redis.py), the memory and the guard use this worker's memory, and
everything is back in Redis with the first call that succeeds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from bot.shared_redis import RedisDown, SharedRedis, hashed
from bot.wechat.phone_text import Choice, Outcome, PhoneAnswer, paginate
from bot.wechat.protocol import MAX_CLOCK_SKEW_SECONDS, ReplayGuard
from bot.wechat.sessions import MAX_AGE_SECONDS, Sessions

__all__ = [
    "LocalClaims",
    "RedisClaims",
    "RedisReplayGuard",
    "RedisSessions",
    "outcome_from_json",
    "outcome_to_json",
]

log = logging.getLogger(__name__)

# An answer takes RASA_TIMEOUT (2 s) and the log's 0.5 s at most; a claim older than this
# belongs to a worker that died, and a retry may answer the message itself.
WORKING_SECONDS = 30
# WeChat retries within about 15 s; finished answers are kept well beyond that.
KEEP_SECONDS = 600
POLL_SECONDS = 0.1
WORKING = b"working"
REPLY, LATE = b"reply", b"late"  # how a finished answer was delivered (`…:taken`)


def outcome_to_json(outcome: Outcome) -> str:
    answer = outcome.answer
    return json.dumps(
        {
            "answer": None
            if answer is None
            else {
                "text": answer.text,
                "choices": [[c.title, c.payload] for c in answer.choices],
                "plain": answer.plain,
            },
            "is_page": outcome.is_page,
        },
        ensure_ascii=False,
    )


def outcome_from_json(raw: bytes | str) -> Outcome:
    data = json.loads(raw)
    answer = data.get("answer")
    if answer is None:
        return Outcome(None, bool(data.get("is_page")))
    choices = [Choice(title=t, payload=p) for t, p in answer.get("choices") or []]
    return Outcome(
        PhoneAnswer(text=answer["text"], choices=choices, plain=answer.get("plain") or ""),
        bool(data.get("is_page")),
    )


class LocalClaims:
    """One worker alone: every message is claimed here and delivered by this worker."""

    shared = False

    async def claim(self, key: str) -> bool:
        return True

    async def finish(self, key: str, outcome: Outcome) -> None:
        return None

    async def replied(self, key: str) -> bool:
        return True

    async def take_late(self, key: str) -> bool:
        return True

    async def answer_elsewhere(self, key: str, deadline: float) -> Outcome | None:
        return None


class RedisClaims:
    """Which worker answers a message, and which party delivers the answer (see above)."""

    shared = True

    def __init__(self, shared: SharedRedis, poll: float = POLL_SECONDS) -> None:
        self.redis = shared
        self.poll = poll

    def _key(self, key: str) -> str:
        return self.redis.key("wechat", "msg", hashed(key))

    async def claim(self, key: str) -> bool:
        """True: answer it here. False: another worker has it (or had it, and its answer is kept)."""
        try:
            return bool(
                await self.redis.call(
                    "claim",
                    lambda r: r.set(self._key(key), WORKING, nx=True, ex=WORKING_SECONDS),
                )
            )
        except RedisDown:
            return True  # answer it: a possible second answer beats none

    async def finish(self, key: str, outcome: Outcome) -> None:
        value = outcome_to_json(outcome)
        try:
            await self.redis.call("finish", lambda r: r.set(self._key(key), value, ex=KEEP_SECONDS))
        except RedisDown:
            pass

    async def _take(self, key: str, how: bytes) -> bytes | None:
        """`how` when this party is the first to deliver the answer, else how it was delivered."""
        taken = self._key(key) + ":taken"

        async def take(r):
            if await r.set(taken, how, nx=True, ex=KEEP_SECONDS):
                return how
            return await r.get(taken)

        try:
            return await self.redis.call("take", take)
        except RedisDown:
            return how  # deliver: a possible second answer beats none

    async def replied(self, key: str) -> bool:
        """May a request answer with the finished answer as its passive reply? Yes unless it
        went out late (pushed, or kept for the next message). WeChat reads one passive reply
        per message, the one to the request it still waits on, so repeating one is harmless."""
        return await self._take(key, REPLY) == REPLY

    async def take_late(self, key: str) -> bool:
        """May the worker that answered deliver it late? Only if no request replied with it."""
        return await self._take(key, LATE) == LATE

    async def answer_elsewhere(self, key: str, deadline: float) -> Outcome | None:
        """The answer another worker is working out, once it is there and if this request is
        the one to deliver it; None when it is not ready by `deadline` (time.monotonic()),
        already delivered, or lost."""
        while True:
            try:
                raw = await self.redis.call("poll", lambda r: r.get(self._key(key)))
            except RedisDown:
                return None
            if raw is None:
                return None  # expired: the worker that had it died; WeChat's next retry claims it
            if raw != WORKING:
                outcome = outcome_from_json(raw)
                return outcome if await self.replied(key) else None
            if time.monotonic() + self.poll > deadline:
                return None
            await asyncio.sleep(self.poll)


class RedisSessions:
    """bot/wechat/sessions.py's Sessions, in Redis; this worker's memory while Redis is down."""

    def __init__(self, shared: SharedRedis, max_age: float = MAX_AGE_SECONDS) -> None:
        self.redis = shared
        self.max_age = int(max_age)
        self.fallback = Sessions()

    def _key(self, kind: str, conversation_id: str) -> str:
        return self.redis.key("wechat", kind, hashed(conversation_id))

    async def _load(self, conversation_id: str) -> dict:
        raw = await self.redis.call(
            "session", lambda r: r.get(self._key("session", conversation_id))
        )
        return json.loads(raw) if raw else {}

    async def _save(self, conversation_id: str, state: dict) -> None:
        value = json.dumps(state, ensure_ascii=False)
        key = self._key("session", conversation_id)
        await self.redis.call("session", lambda r: r.set(key, value, ex=self.max_age))

    async def shown(self, conversation_id: str, answer: PhoneAnswer) -> str:
        try:
            state = await self._load(conversation_id)
            parts = paginate(answer.text)
            state["more_parts"] = parts[1:]
            if answer.choices:
                state["choices"] = [[c.title, c.payload] for c in answer.choices]
            state["plain"] = answer.plain
            await self._save(conversation_id, state)
            return parts[0]
        except RedisDown:
            return await self.fallback.shown(conversation_id, answer)

    async def plain(self, conversation_id: str) -> str:
        try:
            return (await self._load(conversation_id)).get("plain") or ""
        except RedisDown:
            return await self.fallback.plain(conversation_id)

    async def next_part(self, conversation_id: str) -> str | None:
        try:
            state = await self._load(conversation_id)
            parts = state.get("more_parts") or []
            if not parts:
                return None
            state["more_parts"] = parts[1:]
            await self._save(conversation_id, state)
            return parts[0]
        except RedisDown:
            return await self.fallback.next_part(conversation_id)

    async def choice(self, conversation_id: str, number: int) -> Choice | None:
        try:
            choices = (await self._load(conversation_id)).get("choices") or []
        except RedisDown:
            return await self.fallback.choice(conversation_id, number)
        if 1 <= number <= len(choices):
            title, payload = choices[number - 1]
            return Choice(title=title, payload=payload)
        return None

    async def keep_pending(self, conversation_id: str, outcome: Outcome) -> None:
        key, value = self._key("pending", conversation_id), outcome_to_json(outcome)
        try:
            await self.redis.call("pending", lambda r: r.set(key, value, ex=self.max_age))
        except RedisDown:
            await self.fallback.keep_pending(conversation_id, outcome)

    async def take_pending(self, conversation_id: str) -> Outcome | None:
        key = self._key("pending", conversation_id)
        try:
            raw = await self.redis.call("pending", lambda r: r.getdel(key))
        except RedisDown:
            raw = None
        # What was kept here while Redis was down is delivered too.
        kept = await self.fallback.take_pending(conversation_id)
        return outcome_from_json(raw) if raw else kept


class RedisReplayGuard:
    """bot/wechat/protocol.py's ReplayGuard in Redis; this worker's own while Redis is down."""

    def __init__(self, shared: SharedRedis, keep_seconds: int = 2 * MAX_CLOCK_SKEW_SECONDS):
        self.redis = shared
        self.keep = int(keep_seconds)
        self.fallback = ReplayGuard(keep_seconds=keep_seconds)

    async def check(self, query: tuple[str, str, str], message_key: str) -> bool:
        key = self.redis.key("wechat", "replay", hashed("\n".join(query)))
        mine = hashed(message_key)  # the key names the user's openid: not in clear

        async def admit(r) -> bool:
            if await r.set(key, mine, nx=True, ex=self.keep):
                return True
            seen = await r.get(key)
            return seen is None or seen.decode() == mine

        try:
            return await self.redis.call("replay guard", admit)
        except RedisDown:
            return self.fallback.admit(query, message_key)
