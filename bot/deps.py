"""The gateway's shared objects, as FastAPI dependencies.

`create_app` (bot/app.py) builds every object once and keeps it in `app.state`; this module is
the only code that reads them from there. Routes ask for what they use by type alias
(`log: ConversationLogDep`), and tests replace one with `app.dependency_overrides[provider]`
instead of changing the app's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from bot.api.rate_limit import ChatLimits
from bot.api.redis_limits import RedisChatLimits
from bot.chat.conversation_log import ConversationLog
from bot.chat.daily_purge import DailyPurge
from bot.chat.service import ChatService
from bot.console.password_store import PasswordStore
from bot.console.throttle import LoginThrottle, RedisLoginThrottle
from bot.settings import Settings
from bot.shared_redis import SharedRedis
from bot.wechat.bridge import WeChatBridge


def settings(request: Request) -> Settings:
    return request.app.state.settings


def conversation_log(request: Request) -> ConversationLog:
    return request.app.state.conversation_log


def password_store(request: Request) -> PasswordStore:
    return request.app.state.password_store


def chat_service(request: Request) -> ChatService:
    return request.app.state.chat_service


def chat_limits(request: Request) -> ChatLimits | RedisChatLimits:
    return request.app.state.chat_limits


def login_throttle(request: Request) -> LoginThrottle | RedisLoginThrottle:
    return request.app.state.login_throttle


def retention(request: Request) -> DailyPurge:
    return request.app.state.retention


def trusted_proxies(request: Request) -> list:
    return request.app.state.trusted_proxies


def knowledge_opener(request: Request) -> Callable[[], Any]:
    """Opens the knowledge base the console reads (a new connection per request)."""
    return request.app.state.open_knowledge


def wechat_bridge(request: Request) -> WeChatBridge:
    return request.app.state.wechat_bridge


def shared_redis(request: Request) -> SharedRedis | None:
    """The link to Redis (REDIS_URL), or None: shared state kept in this process."""
    return request.app.state.shared_redis


def resolve(request: Request, provider: Callable[[Request], Any]) -> Any:
    """A provider's object where FastAPI cannot inject it (an exception handler), honouring
    the app's dependency overrides as injection would."""
    override = request.app.dependency_overrides.get(provider)
    return override() if override is not None else provider(request)


SettingsDep = Annotated[Settings, Depends(settings)]
ConversationLogDep = Annotated[ConversationLog, Depends(conversation_log)]
PasswordStoreDep = Annotated[PasswordStore, Depends(password_store)]
ChatServiceDep = Annotated[ChatService, Depends(chat_service)]
# In memory, or in Redis with REDIS_URL: the same methods (`check`; `blocked`, `failed`, …).
ChatLimitsDep = Annotated[ChatLimits | RedisChatLimits, Depends(chat_limits)]
LoginThrottleDep = Annotated[LoginThrottle | RedisLoginThrottle, Depends(login_throttle)]
RetentionDep = Annotated[DailyPurge, Depends(retention)]
TrustedProxiesDep = Annotated[list, Depends(trusted_proxies)]
KnowledgeOpenerDep = Annotated[Callable[[], Any], Depends(knowledge_opener)]
WeChatBridgeDep = Annotated[WeChatBridge, Depends(wechat_bridge)]
SharedRedisDep = Annotated[SharedRedis | None, Depends(shared_redis)]
