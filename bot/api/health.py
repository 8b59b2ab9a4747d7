"""GET /healthz: the gateway, Rasa, the action server and the knowledge base, reported separately."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bot.api.models import HealthResponse
from bot.deps import ChatServiceDep, RetentionDep, SettingsDep, SharedRedisDep
from bot.shared_redis import RedisDown, SharedRedis
from knowledge.store import open_kb

router = APIRouter(tags=["health"])


def knowledge_base_health(path) -> dict:
    try:
        kb = open_kb(path)
        return {"ok": True, "entries": len(kb.entries()), "document": kb.document().number}
    except Exception as exc:  # noqa: BLE001 - any failure is "not usable", reported by type
        return {"ok": False, "error": type(exc).__name__}


async def shared_state_health(shared: SharedRedis | None) -> dict:
    if shared is None:
        return {"kind": "in_process"}
    try:
        await shared.call("health", lambda client: client.ping())
        reachable = True
    except RedisDown:
        reachable = False
    return {"kind": "redis", "reachable": reachable, "failures": shared.failures}


@router.get(
    "/healthz",
    response_model=HealthResponse,
    summary="健康检查",
    description="分别报告网关、Rasa、动作服务器和知识库是否可用（每部分一项，带 ok）。"
    "全部可用时 200，任何一部分不可用时 503（正文相同，status 为 degraded）。"
    "对话记录写不进去不算不可用，只计入 gateway.log_write_failures；"
    "每天删除过期对话失败的次数在 gateway.retention_failures；"
    "gateway.rasa_line 列出每个 Rasa 进程正在处理、排队和因繁忙而婉拒的消息数；"
    "gateway.shared_state 说明多个网关进程共用的状态在哪里（redis 或本进程），"
    "Redis 连不上时 reachable 为 false：照常回答，只是限流放开、微信去重只在本进程内，"
    "所以不算不可用。",
    responses={
        200: {"description": "全部可用（status: ok）"},
        503: {"model": HealthResponse, "description": "某个部分不可用（status: degraded）"},
    },
)
async def healthz(
    settings: SettingsDep,
    chat_service: ChatServiceDep,
    retention: RetentionDep,
    shared: SharedRedisDep,
) -> JSONResponse:
    rasa, actions, shared_state = await asyncio.gather(
        chat_service.rasa.rasa_health(),
        chat_service.rasa.action_server_health(),
        shared_state_health(shared),
    )
    # Off the event loop: a slow disk must not stall the chats being answered meanwhile.
    kb = await asyncio.to_thread(knowledge_base_health, settings.knowledge_db)
    body = {
        "gateway": {
            "ok": True,
            "log_write_failures": chat_service.log_failures,
            # Daily deletions of old conversations that failed (bot/chat/retention.py).
            "retention_failures": retention.failures,
            # Per Rasa process: messages in hand, waiting in line, turned away as busy.
            "rasa_line": chat_service.rasa.load(),
            # Where the workers' shared state is; Redis unreachable is reported, not "down":
            # every worker answers on alone (bot/shared_redis.py).
            "shared_state": shared_state,
        },
        "rasa": rasa,
        "action_server": actions,
        "knowledge_base": kb,
    }
    healthy = all(part["ok"] for part in body.values())
    body = {"status": "ok" if healthy else "degraded", **body}
    return JSONResponse(body, status_code=200 if healthy else 503)
