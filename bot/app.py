"""The FastAPI gateway: chat API, health, console, WeChat bridge and the web page."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bot.api import chat_routes, health, privacy, starters
from bot.api import docs as api_docs
from bot.api.client_address import parse_trusted_proxies
from bot.api.errors import install_error_handlers
from bot.api.middleware import BodySizeLimit, SecurityHeaders
from bot.api.rate_limit import ChatLimits
from bot.api.redis_limits import RedisChatLimits, RedisRateLimit
from bot.api.static_files import StaticFiles  # a NUL in the path is a 404, not a 500
from bot.chat.conversation_log import ConversationLog
from bot.chat.daily_purge import DailyPurge
from bot.chat.log_schema import database_target
from bot.chat.plain_summaries import PlainSummaries
from bot.chat.rasa_client import RasaClient
from bot.chat.service import ChatService
from bot.console import review_routes
from bot.console import routes as console_routes
from bot.console.password_store import PasswordStore
from bot.console.session import NotSignedIn
from bot.console.throttle import LoginThrottle, RedisLoginThrottle
from bot.settings import REPO_ROOT, Settings, get_settings
from bot.shared_redis import SharedRedis
from bot.wechat.bridge import WeChatBridge
from bot.wechat.routes import router as wechat_router
from bot.wechat.shared_state import RedisClaims, RedisReplayGuard, RedisSessions
from knowledge.store import open_kb
from knowledge.wording import HOTLINE, HOTLINE_NAME

WEBCHAT_DIR = REPO_ROOT / "webchat"
CONSOLE_STATIC_DIR = Path(__file__).resolve().parent / "static"
# How long shutdown waits for the WeChat bridge's late deliveries.
SHUTDOWN_DRAIN_SECONDS = 5.0
DESCRIPTION = (
    "助残就业政策助手的接口：解答《黄石市促进残疾人就业三年行动实施方案（2022-2024年）》"
    f"（黄政办发〔2022〕60号）的问题。助手答不了时会建议拨打{HOTLINE_NAME} {HOTLINE}。"
)


def create_app(
    settings: Settings | None = None, open_knowledge: Callable[[], Any] | None = None
) -> FastAPI:
    """The gateway with every shared object built here (bot/deps.py hands them to routes).

    `open_knowledge` opens the knowledge base for the console and the easy-read summaries;
    by default KNOWLEDGE_DB (tests pass a fake one).
    """
    settings = settings or get_settings()
    open_knowledge = open_knowledge or (lambda: _open_kb(settings.knowledge_db))
    # SQLite (CONVERSATION_DB) or, with DATABASE_URL, PostgreSQL; the password beside it.
    conversation_log = ConversationLog(database_target(settings), settings.secret_key)
    password_store = PasswordStore(conversation_log.database)
    rasa = RasaClient(
        settings.rasa_urls,
        settings.action_server_url,
        settings.rasa_timeout,
        concurrency=settings.rasa_concurrency,
        session_turns=settings.rasa_session_turns,
        token=settings.rasa_token,
        run_dir=settings.log_dir.parent / "run",
    )
    chat_service = ChatService(rasa, conversation_log, settings.secret_key)
    # REDIS_URL: the bridge, the limits, the sign-in throttle and the purge shared by every
    # worker.
    shared = SharedRedis(settings.redis_url) if settings.redis_url else None
    # Turns older than RETENTION_DAYS are deleted shortly after start and then once a day.
    retention = DailyPurge(settings, shared=shared)
    wechat_bridge = _wechat_bridge(settings, shared)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        retention.start()
        yield
        await retention.stop()
        # WeChat answers that came too late for their request are still on their way:
        # let them finish (they need Rasa and the log) before closing those.
        await wechat_bridge.drain(timeout=SHUTDOWN_DRAIN_SECONDS)
        await rasa.aclose()
        chat_service.close()
        conversation_log.close()
        if shared is not None:
            await shared.aclose()

    app = FastAPI(
        title="助残就业政策助手",
        description=DESCRIPTION,
        version="1.0",
        docs_url=None,  # replaced by bot.api.docs (no inline script, works offline)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.conversation_log = conversation_log
    app.state.password_store = password_store
    app.state.chat_service = chat_service
    app.state.retention = retention
    app.state.wechat_bridge = wechat_bridge
    app.state.shared_redis = shared
    if shared is None:
        app.state.login_throttle = LoginThrottle()
        app.state.chat_limits = ChatLimits.from_settings(settings)
    else:
        app.state.login_throttle = RedisLoginThrottle(shared)
        app.state.chat_limits = RedisChatLimits.from_settings(settings, shared)
    app.state.trusted_proxies = parse_trusted_proxies(settings.trusted_proxies)
    app.state.open_knowledge = open_knowledge
    # Cited entries get their easy-read summary from the knowledge base the console reads.
    chat_service.plain = PlainSummaries(open_knowledge)

    install_error_handlers(app)
    app.add_exception_handler(NotSignedIn, console_routes.not_signed_in)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(SecurityHeaders)  # added last = outermost: covers every response

    app.include_router(chat_routes.router)
    app.include_router(privacy.router)
    app.include_router(starters.router)
    app.include_router(health.router)
    app.include_router(api_docs.router)
    app.include_router(console_routes.public)
    app.include_router(console_routes.router)
    app.include_router(review_routes.router)
    app.include_router(wechat_router)
    app.mount("/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    if WEBCHAT_DIR.is_dir():
        # Mounted last: it answers every path no route above claimed.
        app.mount("/", StaticFiles(directory=WEBCHAT_DIR, html=True), name="webchat")
    return app


def _wechat_bridge(settings: Settings, shared: SharedRedis | None) -> WeChatBridge:
    per_minute = settings.rate_limit_per_minute
    if shared is None:
        return WeChatBridge(per_minute=per_minute)
    return WeChatBridge(
        per_minute=per_minute,
        limit=RedisRateLimit(shared, per_minute, "wechat"),
        sessions=RedisSessions(shared),
        replay=RedisReplayGuard(shared),
        claims=RedisClaims(shared),
    )


def _open_kb(path: Path):
    return open_kb(path)
