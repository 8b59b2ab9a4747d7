"""How long conversations are kept and how to have one deleted: one sentence, said by the WeChat
welcome and, through GET /api/privacy, filled into the web page's privacy notice."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from knowledge.wording import HOTLINE, HOTLINE_NAME, LOCAL_FEDERATION

router = APIRouter(prefix="/api", tags=["chat"])


def retention_notice(days: int) -> str:
    return (
        f"对话记录保存 {days} 天，到期自动删除；想提前删除您的对话，"
        f"请拨打{HOTLINE_NAME} {HOTLINE} 或联系{LOCAL_FEDERATION}。"
    )


class PrivacyResponse(BaseModel):
    retention_days: int = Field(..., description="对话记录保存的天数（RETENTION_DAYS）")
    notice: str = Field(..., description="告诉用户保存多久、怎样申请删除的一句话")


@router.get("/privacy", response_model=PrivacyResponse, summary="对话记录保存多久、怎样删除")
def privacy(request: Request) -> dict:
    """网页的“使用前请看”用它填上保存天数。"""
    days = request.app.state.settings.retention_days
    return {"retention_days": days, "notice": retention_notice(days)}
