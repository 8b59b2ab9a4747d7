"""Fixed WeChat wording: the welcome with its topic menu, and what to say for unreadable input."""

from __future__ import annotations

import logging
import sqlite3
from functools import lru_cache
from pathlib import Path

from bot.api.starters import STARTERS
from bot.settings import DEFAULT_RETENTION_DAYS
from bot.wechat.phone_text import SIMPLER, Choice, PhoneAnswer, numbered
from knowledge.errors import KnowledgeError
from knowledge.store import open_kb
from knowledge.wording import HOTLINE, HOTLINE_NAME, retention_notice

log = logging.getLogger(__name__)

# The starter topics of the web page, with their longer menu titles (bot/api/starters.py).
TOPICS = [Choice(s.menu_title, s.message) for s in STARTERS]

MENU_WORDS = {"菜单", "目录", "帮助", "主菜单", "0", "menu", "help"}
MORE_WORDS = {"更多", "更多内容", "下一页", "继续"}

# Without a knowledge base the welcome names no title at all: better none than a wrong one.
NEUTRAL_SUBJECT = "黄石市促进残疾人就业的扶持政策"
WELCOME_TEMPLATE = (
    "您好，欢迎关注！我是助残就业政策助手，可以解答{subject}。\n"
    "{notice}\n"
    "可以直接打字或发语音提问，例如“盲人按摩考试谁组织”。\n"
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
        "请直接说出或输入您的问题，例如“盲人按摩考试谁组织”，回复“菜单”可以按主题查看。\n"
        f"也可以拨打{HOTLINE_NAME} {HOTLINE}。"
    )


NOTHING_MORE = "这条回答已经全部显示完了。您可以继续提问，或回复“菜单”按主题查看。"
# 说简单点: the last answer's easy-read summaries (bot/wechat/phone_text.py offers it as a choice).
SIMPLER_WORDS = {
    SIMPLER,
    "说简单一点",
    "说得简单点",
    "简单点",
    "简单一点",
    "简单说",
    "简单说说",
    "看不懂",
    "听不懂",
}
NO_PLAIN = (
    "上一条回答没有简单的说法。您可以换个问法再问，或回复“菜单”按主题查看；"
    f"也可以拨打{HOTLINE_NAME} {HOTLINE}，请工作人员讲给您听。"
)
EMPTY_TEXT = "您好像发了一条空消息。请直接说出或输入您的问题，或回复“菜单”按主题查看。"
