"""Fixed wording has one home: the hotline in knowledge.wording, the plan title in the KB."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.wording import HOTLINE

BOT = Path(__file__).resolve().parents[2] / "bot"
# bot/wechat/ and bot/wechat_sim.py belong to the WeChat bridge and are checked with it.
GATEWAY_SOURCES = sorted(
    p for p in BOT.rglob("*.py") if not p.relative_to(BOT).parts[0].startswith("wechat")
)


def test_the_gateway_sources_are_found():
    names = {p.relative_to(BOT).as_posix() for p in GATEWAY_SOURCES}
    assert {"app.py", "chat_routes.py", "api_models.py", "launcher.py"} <= names
    assert "console/phone_text.py" in names and not any("wechat" in n for n in names)


@pytest.mark.parametrize("path", GATEWAY_SOURCES, ids=lambda p: p.relative_to(BOT).as_posix())
def test_no_copy_of_the_hotline_number(path):
    assert HOTLINE not in path.read_text(encoding="utf-8"), "import it from knowledge.wording"


def test_console_takes_the_plan_title_from_the_knowledge_base():
    for path in (BOT / "console").glob("*.py"):
        assert "促进残疾人就业三年行动实施方案" not in path.read_text(encoding="utf-8"), path
