"""The starter topics: one list for the web page (GET /api/topics) and the WeChat menu.

Each topic sends a plain question, like typing it: a bare intent payload would carry no words to
pick the right sentences of an item with. The web page shows the short `title`; WeChat's numbered
menu has room for the longer `menu_title`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from pydantic import BaseModel, Field

from knowledge.wording import SITUATION_START_TITLE

router = APIRouter(prefix="/api", tags=["chat"])


@dataclass(frozen=True)
class Starter:
    title: str  # the web page's button
    menu_title: str  # the WeChat menu's line
    message: str  # what either sends


STARTERS = [
    Starter("补贴", "有哪些补贴", "有哪些补贴？"),
    Starter("盲人按摩", "盲人按摩", "盲人按摩就业有什么政策？"),
    Starter("大学生就业", "高校残疾人毕业生就业", "残疾人大学生毕业了怎么找工作？"),
    Starter("培训", "职业技能培训", "残疾人职业技能培训有哪些？"),
    Starter("公益性岗位", "公益性岗位和就业援助", "找不到工作的残疾人能安排公益性岗位吗？"),
    Starter("农村就业", "农村残疾人就业", "农村残疾人怎么就业？"),
    Starter("辅助性就业", "辅助性就业（阳光家园、残疾人之家）", "什么是辅助性就业？"),
    Starter(
        "网店、快递等新工作",
        "平台、电商等新就业形态",
        "残疾人在网上开店、送快递、直播带货有什么扶持？",
    ),
    Starter(
        "烟草零售", "烟草零售（卷烟零售点、烟草证）", "残疾人开烟草零售店、办烟草证有什么照顾？"
    ),
    Starter(SITUATION_START_TITLE, SITUATION_START_TITLE, SITUATION_START_TITLE),
    Starter("找人工", "转人工 / 热线", "我要找人工"),
]


class Topic(BaseModel):
    title: str = Field(..., description="按钮上的字")
    message: str = Field(..., description="点按钮时发给 /api/chat 的 message")


class TopicsResponse(BaseModel):
    topics: list[Topic]


@router.get("/topics", response_model=TopicsResponse, summary="可以从这些话题开始")
def topics() -> dict:
    """网页“可以从这些话题开始”的按钮；微信菜单用同一份列表。"""
    return {"topics": [{"title": s.title, "message": s.message} for s in STARTERS]}
