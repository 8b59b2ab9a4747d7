"""The chat API: /api/chat, /api/history, /api/feedback.

Conversations are namespaced so a client-chosen key can never reach a cookie conversation:
`web:<cookie token>` for the browser, `api:<client key>` for API clients.
"""

from __future__ import annotations

import re
import secrets

from fastapi import APIRouter, HTTPException, Request, Response

from bot.api.client_address import client_address
from bot.api.models import (
    ANSWER_ID_HEADER,
    ERROR_RESPONSES,
    RETRY_AFTER_HEADER,
    TOO_MANY_RESPONSE,
    ChatRequest,
    ChatResponse,
    FeedbackRequest,
    FeedbackResponse,
    HistoryResponse,
)
from bot.api.rate_limit import too_fast_text
from bot.chat.ids import PUBLIC_HANDLE, keyed_digest
from bot.deps import (
    ChatLimitsDep,
    ChatServiceDep,
    ConversationLogDep,
    SettingsDep,
    TrustedProxiesDep,
)
from knowledge.wording import HOTLINE, HOTLINE_NAME

COOKIE_NAME = "conversation"
COOKIE_MAX_AGE = 30 * 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16): 128 random bits

router = APIRouter(prefix="/api", tags=["chat"])


def cookie_token(request: Request) -> str | None:
    token = request.cookies.get(COOKIE_NAME)
    return token if token and _TOKEN.match(token) else None


def set_conversation_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def address_of(request: Request, trusted_proxies: list) -> str:
    """The client's address for the per-address limit (bot.api.client_address: X-Forwarded-For
    only from TRUSTED_PROXIES)."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    return client_address(peer, forwarded, trusted_proxies)


def public_handle(secret: str, conversation_id: str) -> str:
    """What the API shows as `sender` for a cookie conversation: not the token, not usable as a key."""
    return "web-" + keyed_digest(secret, PUBLIC_HANDLE, conversation_id, length=12)


CHAT_DESCRIPTION = (
    "发一句话，得到助手的回答、引用的方案条目、识别出的意图和是否建议转人工。"
    "响应体只有 sender、replies、sources、intent、handoff 五项；"
    f"这条回答的编号在响应头 {ANSWER_ID_HEADER} 里（用于 /api/feedback，"
    "对话记录没写成时没有这个头）。"
    "不填 sender 时，对话保存在 HttpOnly Cookie 里。"
    "助手暂时答不了（服务停了、太慢或没有回答）时，3 秒内回复说明情况，"
    f"请用户拨打{HOTLINE_NAME} {HOTLINE}，并返回 handoff: true。"
    "消息为空、超过 500 字、不是文字或格式不对返回 422；请求体超过 64 KB 返回 413。"
    "同一对话或同一地址发得太快返回 429，响应头 Retry-After 是要等的秒数。"
)
CHAT_RESPONSES = {
    200: {
        "description": "助手的回答",
        "headers": {
            ANSWER_ID_HEADER: {
                "description": "这条回答的编号，用于 /api/feedback（仅 Cookie 对话可评价）；"
                "对话记录没写成时没有这个头",
                "schema": {"type": "string", "example": "3f2a9c0d6b1e4e8f9a7b5c3d2e1f0a9b"},
            }
        },
    },
    **ERROR_RESPONSES,
    **TOO_MANY_RESPONSE,
}


LOCAL_TOOL_HEADER = "X-Local-Tool-Token"


def is_local_tool(request: Request, token: str | None) -> bool:
    """A tool of the machine's owner (`make bench`), which asks for many people at once."""
    given = request.headers.get(LOCAL_TOOL_HEADER, "")
    return bool(token) and secrets.compare_digest(given.encode(), token.encode())


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses=CHAT_RESPONSES,
    summary="向助手提问",
    description=CHAT_DESCRIPTION,
)
async def chat(
    body: ChatRequest,
    request: Request,
    response: Response,
    settings: SettingsDep,
    chat_service: ChatServiceDep,
    limits: ChatLimitsDep,
    trusted_proxies: TrustedProxiesDep,
) -> dict:
    """One answer per message; the conversation comes from `sender` or the cookie."""
    if body.sender is not None:
        conversation_id, channel, shown = f"api:{body.sender}", "api", body.sender
    else:
        token = cookie_token(request)
        if token is None:
            token = secrets.token_urlsafe(16)
        set_conversation_cookie(request, response, token)
        conversation_id, channel = f"web:{token}", "web"
        shown = public_handle(settings.secret_key, conversation_id)
    wait = 0
    if not is_local_tool(request, settings.local_tool_token):
        wait = await limits.check(conversation_id, address_of(request, trusted_proxies))
    if wait:
        # Before Rasa and the log: a message held back costs nothing and is not "unanswered".
        raise HTTPException(
            status_code=429, detail=too_fast_text(wait), headers={RETRY_AFTER_HEADER: str(wait)}
        )
    reply = await chat_service.reply(
        conversation_id=conversation_id, channel=channel, text=body.message, sender=shown
    )
    if reply.answer_id:
        response.headers[ANSWER_ID_HEADER] = reply.answer_id
    return reply.as_api_dict()


@router.get("/history", response_model=HistoryResponse, summary="本对话的记录（仅 Cookie 对话）")
def history(request: Request, log: ConversationLogDep) -> dict:
    """本浏览器自己的对话记录（页面刷新后恢复用），每轮带 answer_id（即当时 /api/chat 的
    X-Answer-Id 响应头）和已给的反馈；没有 Cookie 时为空。"""
    token = cookie_token(request)
    if token is None:
        return {"turns": []}
    turns = log.history(f"web:{token}")
    return {"turns": [{**t, "answer_id": t["id"]} for t in turns]}


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    responses={**ERROR_RESPONSES, 404: {"description": "不是本对话的回答"}},
    summary="对一条回答点赞或点踩（仅 Cookie 对话）",
)
def feedback(body: FeedbackRequest, request: Request, log: ConversationLogDep) -> dict:
    token = cookie_token(request)
    if token is None or not log.set_feedback(f"web:{token}", body.answer_id, body.value):
        raise HTTPException(status_code=404, detail="找不到这条回答。")
    return {"ok": True}
