"""Late answers through WeChat's customer-service message API (客服消息).

httpx rather than wechatpy's WeChatClient, for three reasons found in wechatpy 1.8.18's source:
its client is synchronous (requests) and would block the event loop; `fetch_access_token`
hard-codes https://api.weixin.qq.com and ignores API_BASE_URL, so it cannot be pointed at a test
server; and on 40001/42001 its auto-retry recurses without limit. Here: one token holder per
account, refreshed once on expiry, behind a lock so concurrent sends refresh it only once.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx

# Token invalid / expired / not the latest: fetch a new one and retry once.
TOKEN_ERRCODES = {40001, 40014, 42001}
TOKEN_MARGIN_SECONDS = 300


class DeliveryFailed(Exception):
    """The customer-service API refused or could not be reached; the caller keeps the answer."""


class CustomerService:
    def __init__(self, *, api_base: str, app_id: str, app_secret: str, timeout: float = 5.0):
        self.api_base = api_base.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self._timeout = timeout
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    async def send_text(self, openid: str, content: str) -> None:
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            token = await self._access_token(http)
            result = await self._send(http, token, openid, content)
            if result.get("errcode") in TOKEN_ERRCODES:
                token = await self._access_token(http, stale=token)
                result = await self._send(http, token, openid, content)
        if result.get("errcode", 0) != 0:
            raise DeliveryFailed(f"custom send: {result.get('errcode')} {result.get('errmsg')}")

    async def _send(self, http: httpx.AsyncClient, token: str, openid: str, content: str) -> dict:
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return await self._call(
            http.post(
                f"{self.api_base}/cgi-bin/message/custom/send",
                params={"access_token": token},
                # WeChat wants UTF-8 text, not \\u escapes (wechatpy sends it the same way).
                content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        )

    async def _access_token(self, http: httpx.AsyncClient, stale: str | None = None) -> str:
        async with self._lock:
            fresh = self._token and time.monotonic() < self._token_expires
            if fresh and self._token != stale:
                return self._token  # type: ignore[return-value]
            result = await self._call(
                http.get(
                    f"{self.api_base}/cgi-bin/token",
                    params={
                        "grant_type": "client_credential",
                        "appid": self.app_id,
                        "secret": self._secret,
                    },
                )
            )
            self.token_fetches += 1
            if not result.get("access_token"):
                raise DeliveryFailed(f"token: {result.get('errcode')} {result.get('errmsg')}")
            self._token = str(result["access_token"])
            lifetime = int(result.get("expires_in") or 7200)
            self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 60)
            return self._token

    @staticmethod
    async def _call(request) -> dict:
        try:
            response = await request
            response.raise_for_status()
            result = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise DeliveryFailed(str(error)) from error
        if not isinstance(result, dict):
            raise DeliveryFailed("unexpected answer from the WeChat API")
        return result
