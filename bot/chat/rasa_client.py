"""The only module that talks to Rasa (and, for health checks, to the action server).

Rasa works on one message at a time per process (CPU-bound), so the client lets only a few
messages into each Rasa process at once and keeps the rest in line here, where a message
whose reply promise can no longer be kept is turned away (`RasaBusy`) before Rasa spends any
work on it. Without the line, a crowd makes Rasa share its core among all of them, every
answer comes too late, and Rasa keeps working on requests nobody waits for any more.

With several Rasa processes, a conversation always goes to the same one (by its sender), so
each process's in-memory lock keeps that conversation's turns in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict, deque
from pathlib import Path

import httpx

from bot.chat.model_loading import is_loading

log = logging.getLogger(__name__)
REST_WEBHOOK = "/webhooks/rest/webhook"
# How many recent Rasa answers the expected service time is taken from.
RECENT_ANSWERS = 200
# Rasa's own message that ends the dialogue session and starts a new one, carrying the slots
# over (domain.yml session_config): the context of the last answer survives.
SESSION_START = "/session_start"
# Conversations whose turns are counted at once (the oldest are forgotten first).
COUNTED_CONVERSATIONS = 50_000
# A Rasa process that refused a connection is tried last for this long (a restart takes ~20 s;
# after this one message finds out whether it is back).
DOWN_SECONDS = 5.0


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


class RasaUnavailable(Exception):
    """Rasa did not answer usably in time: down, slow, an error status or not JSON."""


class RasaTimeout(RasaUnavailable):
    """Rasa did not answer within the time given."""


class RasaDown(RasaUnavailable):
    """Nothing listens at that Rasa process's address (it is down or restarting): the message
    never reached it, so another process may take it."""


class RasaBusy(RasaUnavailable):
    """Too many messages in line: this one could not be answered within its deadline, and
    was never sent to Rasa."""


class Backend:
    """One Rasa process: its URL, its admission slots and its recent service times."""

    def __init__(self, url: str, concurrency: int) -> None:
        self.url = url
        self.concurrency = concurrency
        self.slots = asyncio.Semaphore(concurrency)
        self.recent: deque[float] = deque(maxlen=RECENT_ANSWERS)
        self.in_flight = 0
        self.waiting = 0
        self.turned_away = 0
        self.down_until = 0.0  # time.monotonic(): a refused connection, skipped till then

    def expected_seconds(self) -> float:
        """The 95th percentile of recent answer times: what a message let in now must be
        left to be answered in time (0 until Rasa has answered anything: then a message
        waits as long as its deadline allows)."""
        if not self.recent:
            return 0.0
        ordered = sorted(self.recent)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    def state(self) -> dict:
        return {
            "url": self.url,
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "turned_away": self.turned_away,
        }


class RasaClient:
    def __init__(
        self,
        rasa_url: str | list[str],
        action_server_url: str,
        timeout: float,
        concurrency: int = 2,
        session_turns: int = 0,
        token: str = "",
        run_dir: Path | None = None,
    ) -> None:
        urls = [rasa_url] if isinstance(rasa_url, str) else list(rasa_url)
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        self.backends = [Backend(url.rstrip("/"), concurrency) for url in urls]
        self.rasa_url = self.backends[0].url
        self.action_server_url = action_server_url
        self.timeout = timeout
        # Rasa's own API (parse, status) needs the token; the REST channel does not.
        self._api_query = f"?token={token}" if token else ""
        # Every `session_turns` turns a conversation starts a new Rasa session (0: never).
        # Rasa loads and replays the whole current session for every message, so without
        # this each turn of a long conversation is slower than the one before.
        self.session_turns = session_turns
        self._turns: OrderedDict[str, int] = OrderedDict()
        self._client: httpx.AsyncClient | None = None
        # Where a retrain marks a Rasa server that is loading a new model (bot/chat/model_loading.py).
        self.run_dir = run_dir

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            # Never route localhost traffic through a proxy from the environment; keep
            # connections alive, enough for every admission slot.
            slots = sum(b.concurrency for b in self.backends)
            self._client = httpx.AsyncClient(
                timeout=self.timeout,
                trust_env=False,
                limits=httpx.Limits(max_connections=slots + 8, max_keepalive_connections=slots + 8),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def backend_for(self, sender: str) -> Backend:
        """The Rasa process that keeps this conversation (stable across restarts)."""
        return self.backends_for(sender)[0]

    def backends_for(self, sender: str) -> list[Backend]:
        """The conversation's own Rasa process first, then the others in turn, those known to
        be down or loading a new model last. Every process reads and writes the same tracker store, so another one
        can carry the conversation on while its own restarts."""
        digest = hashlib.sha256(sender.encode("utf-8")).digest()
        first = int.from_bytes(digest[:4], "big") % len(self.backends)
        order = self.backends[first:] + self.backends[:first]
        now = time.monotonic()
        return sorted(order, key=lambda b: b.down_until > now or is_loading(self.run_dir, b.url))

    async def _post(self, url: str, body: dict, timeout: float | None = None):
        """Rasa's JSON answer to a POST, within the timeout; raises RasaUnavailable."""
        limit = self.timeout if timeout is None else min(self.timeout, timeout)
        if limit <= 0:
            raise RasaTimeout("no time left")
        try:
            # httpx timeouts are per phase; wait_for caps the whole exchange. A cancelled
            # exchange closes its connection, and Rasa (Sanic) then cancels the handler.
            response = await asyncio.wait_for(self._http().post(url, json=body), timeout=limit)
            response.raise_for_status()
            return response.json()
        except asyncio.TimeoutError as exc:
            raise RasaTimeout("timeout") from exc
        except httpx.ConnectError as exc:
            raise RasaDown(type(exc).__name__) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__) from exc

    async def send(self, sender: str, message: str, deadline: float | None = None) -> list[dict]:
        """Rasa's REST-channel messages for one user message.

        `deadline` (time.monotonic()) is when the answer must be back. The message waits in
        line for its Rasa process only while the time left still covers what Rasa's recent
        answers took; otherwise it raises RasaBusy without sending anything. Raises
        RasaUnavailable when Rasa fails or is too slow.
        """
        candidates = self.backends_for(sender)
        new_session = self._new_session_due(sender)
        for backend in candidates:
            try:
                messages = await self._send_to(backend, sender, message, deadline, new_session)
            except RasaDown:
                backend.down_until = time.monotonic() + DOWN_SECONDS
                if backend is candidates[-1]:
                    raise
                continue
            if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
                raise RasaUnavailable("unexpected response shape")
            return messages
        raise RasaUnavailable("no Rasa process")

    async def _send_to(
        self,
        backend: Backend,
        sender: str,
        message: str,
        deadline: float | None,
        new_session: bool,
    ) -> object:
        await self._admit(backend, deadline)
        backend.in_flight += 1
        started = time.monotonic()
        # Rasa answering slowly because of the crowd ahead (the deadline, not RASA_TIMEOUT,
        # cut it short) is "busy", not "unavailable".
        crowded = deadline is not None and deadline - started < self.timeout
        try:
            url = backend.url + REST_WEBHOOK
            if new_session:
                await self._post(url, {"sender": sender, "message": SESSION_START}, _left(deadline))
            messages = await self._post(
                url, {"sender": sender, "message": message}, _left(deadline)
            )
            backend.recent.append(time.monotonic() - started)
            return messages
        except RasaTimeout as exc:
            backend.recent.append(time.monotonic() - started)  # at least this slow
            if crowded:
                backend.turned_away += 1
                raise RasaBusy("answered too late") from exc
            raise
        finally:
            backend.in_flight -= 1
            backend.slots.release()

    def _new_session_due(self, sender: str) -> bool:
        """Count this turn; True when the conversation has had `session_turns` turns since
        its session began."""
        turns = self._turns.pop(sender, 0)
        self._turns[sender] = turns + 1
        if len(self._turns) > COUNTED_CONVERSATIONS:
            self._turns.popitem(last=False)
        return self.session_turns > 0 and turns > 0 and turns % self.session_turns == 0

    async def _admit(self, backend: Backend, deadline: float | None) -> None:
        """Take one of the backend's slots, or raise RasaBusy when the message could no
        longer be answered by its deadline (then Rasa never sees it). A message that finds
        a slot free is always sent, so the expected time keeps following what Rasa does."""
        if deadline is None or not backend.slots.locked():
            await backend.slots.acquire()  # a free slot returns at once
            return
        patience = deadline - time.monotonic() - backend.expected_seconds()
        if patience <= 0:
            backend.turned_away += 1
            raise RasaBusy("no time to wait")
        backend.waiting += 1
        try:
            await asyncio.wait_for(backend.slots.acquire(), timeout=patience)
        except asyncio.TimeoutError as exc:
            backend.turned_away += 1
            raise RasaBusy("waited too long") from exc
        finally:
            backend.waiting -= 1
        # Answers may have grown slower while it waited: do not start what cannot end in time.
        if deadline - time.monotonic() < backend.expected_seconds():
            backend.slots.release()
            backend.turned_away += 1
            raise RasaBusy("too late to start")

    async def parse(self, text: str) -> dict:
        """What the model makes of some words (intent ranking, entities), without a
        conversation: Rasa's /model/parse. Raises RasaUnavailable."""
        parsed = await self._post(self.rasa_url + "/model/parse" + self._api_query, {"text": text})
        if not isinstance(parsed, dict):
            raise RasaUnavailable("unexpected response shape")
        return parsed

    async def rasa_health(self) -> dict:
        """Every Rasa process's /status; ok only when all of them answer."""
        probes = [
            await self._probe(b.url + "/status" + self._api_query, "model_file")
            for b in self.backends
        ]
        if len(probes) == 1:
            return probes[0]
        return {"ok": all(p["ok"] for p in probes), "processes": probes}

    async def action_server_health(self) -> dict:
        return await self._probe(self.action_server_url + "/health", "status")

    async def _probe(self, url: str, key: str) -> dict:
        try:
            response = await asyncio.wait_for(self._http().get(url), timeout=min(self.timeout, 2))
            response.raise_for_status()
            body = response.json()
            return {"ok": True, key: body.get(key) if isinstance(body, dict) else None}
        except asyncio.TimeoutError:
            return {"ok": False, "error": "timeout"}
        except (httpx.HTTPError, ValueError) as exc:
            return {"ok": False, "error": type(exc).__name__}

    def load(self) -> list[dict]:
        """What each Rasa process has in hand and in line (for /healthz)."""
        return [b.state() for b in self.backends]
