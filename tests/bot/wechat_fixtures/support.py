"""Shared helpers of the WeChat tests: a stand-in gateway app, fake chat services, signed posts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

from bot import deps
from bot.chat.service import ChatReply
from bot.settings import Settings
from bot.wechat.bridge import WeChatBridge
from bot.wechat.routes import router
from bot.wechat.simulator import message_xml, plaintext_request, read_reply, safe_mode_request

FIXTURES = Path(__file__).parent
TOKEN = "test-wechat-token"
APP_ID = "wx1234567890abcdef"
APP_SECRET = "test-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
ACCOUNT = "gh_2f1d3c8b9a01"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
# No test reads the knowledge base of the working tree: by default there is none.
NO_KNOWLEDGE_DB = FIXTURES / "no-knowledge-base-here.db"


def fixture_xml(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def answer(
    text: str,
    buttons: list[dict] | None = None,
    sources: list[dict] | None = None,
    kind: str | None = None,
) -> ChatReply:
    return ChatReply(
        sender="x",
        replies=[{"text": text, "buttons": buttons or []}],
        sources=sources or [],
        intent={"name": "ask_blind_massage", "confidence": 0.95},
        kind=kind,
    )


class FakeChatService:
    """Records every call; answers with `reply_for(text)` after `delay` seconds."""

    def __init__(self, reply_for=None, delay: float = 0.0):
        self.calls: list[dict] = []
        self.delay = delay
        self.reply_for = reply_for or (lambda text: answer(f"关于“{text}”的回答。"))

    async def reply(self, *, conversation_id: str, channel: str, text: str) -> ChatReply:
        self.calls.append({"conversation_id": conversation_id, "channel": channel, "text": text})
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.reply_for(text)


def make_settings(**overrides) -> Settings:
    values = {
        "wechat_token": TOKEN,
        "secret_key": SECRET_KEY,
        "knowledge_db": NO_KNOWLEDGE_DB,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def make_app(chat_service, reply_budget: float = 4.5, **settings) -> FastAPI:
    """The WeChat router in a bare app, given what it depends on (bot/deps.py)."""
    app = FastAPI()
    app.include_router(router)
    settings, bridge = make_settings(**settings), WeChatBridge(reply_budget=reply_budget)
    app.dependency_overrides[deps.settings] = lambda: settings
    app.dependency_overrides[deps.chat_service] = lambda: chat_service
    app.dependency_overrides[deps.wechat_bridge] = lambda: bridge
    app.state.wechat_bridge = bridge  # the tests look at its state
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wechat.test")


async def post_plain(http: httpx.AsyncClient, xml: str, token: str = TOKEN, **kw) -> httpx.Response:
    signed = plaintext_request(xml, token, **kw)
    return await http.post("/wechat", params=signed.params, content=signed.body)


async def post_safe(http: httpx.AsyncClient, xml: str, token: str = TOKEN, **kw) -> httpx.Response:
    signed = safe_mode_request(xml, token, AES_KEY, APP_ID, **kw)
    return await http.post("/wechat", params=signed.params, content=signed.body)


def read_safe_reply(body: str) -> str | None:
    return read_reply(body, TOKEN, AES_KEY, APP_ID)


def text_xml(text: str, msg_id: int | None = None, openid: str = OPENID) -> str:
    return message_xml(text, msg_id=msg_id, openid=openid)


def now() -> str:
    return str(int(time.time()))
