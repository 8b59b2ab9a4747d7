"""Fixed wording has one home: the hotline in knowledge.wording, the plan title in the KB."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.wording import HOTLINE, HOTLINE_NAME

REPO = Path(__file__).resolve().parents[2]
BOT = REPO / "bot"
# Every gateway source, the WeChat bridge (bot/wechat/, bot/wechat/simulator.py) included.
GATEWAY_SOURCES = sorted(BOT.rglob("*.py"))
WEBCHAT_SCRIPTS = sorted((REPO / "webchat").glob("*.js"))


def test_the_gateway_sources_are_found():
    names = {p.relative_to(BOT).as_posix() for p in GATEWAY_SOURCES}
    assert {"app.py", "api/chat_routes.py", "api/models.py", "cli/launcher.py"} <= names
    assert {"console/spoken.py", "wechat/menu.py", "wechat/answering.py"} <= names
    assert "wechat/simulator.py" in names


@pytest.mark.parametrize("path", GATEWAY_SOURCES, ids=lambda p: p.relative_to(BOT).as_posix())
def test_no_copy_of_the_hotline_number_or_name(path):
    text = path.read_text(encoding="utf-8")
    assert HOTLINE not in text, "import HOTLINE from knowledge.wording"
    assert HOTLINE_NAME not in text, "import HOTLINE_NAME from knowledge.wording"


@pytest.mark.parametrize("path", WEBCHAT_SCRIPTS, ids=lambda p: p.name)
def test_the_web_page_script_names_the_hotline_number_once(path):
    # The page cannot import Python: its script keeps one constant and uses it everywhere.
    assert path.read_text(encoding="utf-8").count(HOTLINE) <= 1


def test_the_wechat_fallback_is_the_chat_service_one():
    from bot.chat.service import UNAVAILABLE_TEXT
    from bot.wechat import answering

    assert answering.UNAVAILABLE_TEXT is UNAVAILABLE_TEXT


def test_console_takes_the_plan_title_from_the_knowledge_base():
    for path in (BOT / "console").glob("*.py"):
        assert "促进残疾人就业三年行动实施方案" not in path.read_text(encoding="utf-8"), path
