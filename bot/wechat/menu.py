"""Fixed WeChat wording: the welcome with its topic menu, and what to say for unreadable input."""

from __future__ import annotations

import logging
import sqlite3
from functools import lru_cache
from pathlib import Path

from bot.privacy import retention_notice
from bot.settings import DEFAULT_RETENTION_DAYS
from bot.wechat.phone_text import Choice, PhoneAnswer, numbered
from knowledge.errors import KnowledgeError
from knowledge.store import open_kb
from knowledge.wording import HOTLINE, HOTLINE_NAME

log = logging.getLogger(__name__)

# A choice sends a plain question, like the web page's topic buttons: a bare intent payload
# would carry no words to pick the right sentences of an item with.
TOPICS = [
    Choice("有哪些补贴", "有哪些补贴？"),
    Choice("盲人按摩", "盲人按摩就业有什么政策？"),
    Choice("高校残疾人毕业生就业", "残疾人大学生毕业了怎么找工作？"),
    Choice("职业技能培训", "残疾人职业技能培训有哪些？"),
    Choice("公益性岗位和就业援助", "找不到工作的残疾人能安排公益性岗位吗？"),
    Choice("农村残疾人就业", "农村残疾人怎么就业？"),
    Choice("辅助性就业（阳光家园、残疾人之家）", "什么是辅助性就业？"),
    Choice("平台、电商等新就业形态", "残疾人在网上开店、送快递、直播带货有什么扶持？"),
    Choice("烟草零售（卷烟零售点、烟草证）", "残疾人开烟草零售店、办烟草证有什么照顾？"),
    Choice("转人工 / 热线", "我要找人工"),
]

MENU_WORDS = {"菜单", "目录", "帮助", "主菜单", "0", "menu", "help"}
MORE_WORDS = {"更多", "更多内容", "下一页", "继续"}

# Without a knowledge base the welcome names no title at all: better none than a wrong one.
NEUTRAL_SUBJECT = "黄石市促进残疾人就业的扶持政策"
WELCOME_TEMPLATE = (
    "您好，欢迎关注！我是助残就业政策助手，可以解答{subject}。\n"
    "{notice}\n"
    "可以直接打字或发语音提问，例如“盲人按摩考试怎么报名”。\n"
    "也可以回复数字选择主题："
)
MENU_INTRO = "请回复数字选择主题："


@lru_cache(maxsize=4)
def _plan_subject(knowledge_db: Path | None) -> str:
    """《title》（number）里的扶持政策, from the knowledge base itself. Raises while the knowledge
    base is missing, so the failure is not cached and a later build is picked up."""
    document = open_kb(knowledge_db).document()
    return f"《{document.title}》（{document.number}）里的扶持政策"


def welcome(knowledge_db: Path | None = None, retention_days: int = DEFAULT_RETENTION_DAYS) -> str:
    try:
        subject = _plan_subject(knowledge_db)
    except (KnowledgeError, sqlite3.Error) as error:
        log.warning("WeChat welcome without the plan's title: %s", error)
        subject = NEUTRAL_SUBJECT
    return WELCOME_TEMPLATE.format(subject=subject, notice=retention_notice(retention_days))


def topic_menu(intro: str = MENU_INTRO) -> PhoneAnswer:
    footer = f"随时回复“菜单”回到这里。需要人工帮助请拨打{HOTLINE_NAME} {HOTLINE}。"
    return PhoneAnswer(text=f"{intro}\n{numbered(TOPICS)}\n\n{footer}", choices=list(TOPICS))


def cannot_read(kind: str) -> str:
    """Polite reply for input the assistant cannot take (never leave a user in silence)."""
    what = {
        "voice": "这条语音没有识别出文字",
        "image": "我暂时看不了图片",
        "video": "我暂时看不了视频",
        "shortvideo": "我暂时看不了视频",
        "location": "我暂时用不上位置信息",
        "link": "我暂时打不开链接",
        "file": "我暂时打不开文件",
    }.get(kind, "这类消息我暂时处理不了")
    return (
        f"抱歉，{what}。我能读懂文字，也能听懂普通话语音（请说慢一点、清楚一点）。"
        "请直接说出或输入您的问题，例如“盲人按摩考试怎么报名”，回复“菜单”可以按主题查看。\n"
        f"也可以拨打{HOTLINE_NAME} {HOTLINE}。"
    )


NOTHING_MORE = "这条回答已经全部显示完了。您可以继续提问，或回复“菜单”按主题查看。"
EMPTY_TEXT = "您好像发了一条空消息。请直接说出或输入您的问题，或回复“菜单”按主题查看。"
