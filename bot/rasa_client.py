"""The only module that talks to Rasa (and, for health checks, to the action server)."""

from __future__ import annotations

import asyncio
import logging

import httpx

log = logging.getLogger(__name__)
REST_WEBHOOK = "/webhooks/rest/webhook"


class RasaUnavailable(Exception):
    """Rasa did not answer usably in time: down, slow, an error status or not JSON."""


class RasaClient:
    def __init__(self, rasa_url: str, action_server_url: str, timeout: float) -> None:
        self.rasa_url = rasa_url
        self.action_server_url = action_server_url
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            # Never route localhost traffic through a proxy from the environment.
            self._client = httpx.AsyncClient(timeout=self.timeout, trust_env=False)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _post(self, path: str, body: dict):
        """Rasa's JSON answer to a POST, within the timeout; raises RasaUnavailable."""
        try:
            # httpx timeouts are per phase; wait_for caps the whole exchange.
            response = await asyncio.wait_for(
                self._http().post(self.rasa_url + path, json=body), timeout=self.timeout
            )
            response.raise_for_status()
            return response.json()
        except asyncio.TimeoutError as exc:
            raise RasaUnavailable("timeout") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__) from exc

    async def send(self, sender: str, message: str) -> list[dict]:
        """Rasa's REST-channel messages for one user message; raises RasaUnavailable."""
        messages = await self._post(REST_WEBHOOK, {"sender": sender, "message": message})
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise RasaUnavailable("unexpected response shape")
        return messages

    async def parse(self, text: str) -> dict:
        """What the model makes of some words (intent ranking, entities), without a
        conversation: Rasa's /model/parse. Raises RasaUnavailable."""
        parsed = await self._post("/model/parse", {"text": text})
        if not isinstance(parsed, dict):
            raise RasaUnavailable("unexpected response shape")
        return parsed

    async def rasa_health(self) -> dict:
        return await self._probe(self.rasa_url + "/status", "model_file")

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
