"""How long conversations are kept and how to have one deleted: one sentence, said by the WeChat
welcome and, through GET /api/privacy, filled into the web page's privacy notice."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.deps import SettingsDep
from knowledge.wording import retention_notice

router = APIRouter(prefix="/api", tags=["chat"])


class PrivacyResponse(BaseModel):
    retention_days: int = Field(..., description="对话记录保存的天数（RETENTION_DAYS）")
    notice: str = Field(..., description="告诉用户保存多久、怎样申请删除的一句话")


@router.get("/privacy", response_model=PrivacyResponse, summary="对话记录保存多久、怎样删除")
def privacy(settings: SettingsDep) -> dict:
    """网页的“使用前请看”用它填上保存天数。"""
    days = settings.retention_days
    return {"retention_days": days, "notice": retention_notice(days)}
