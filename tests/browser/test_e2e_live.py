"""The page on the real stack: the trained model and the built knowledge base answer."""

from __future__ import annotations

import pytest


@pytest.mark.e2e
def test_blind_massage_question_cites_item_13(live_page, chat, axe):
    page = live_page
    page.goto("/")
    page.wait_for_load_state("networkidle")
    bot = chat(page, "盲人按摩考试怎么报名")
    sources = bot.locator(".sources")
    assert sources.locator(".sources-title").inner_text() == "依据"
    assert "二（八）13" in sources.inner_text()
    assert "市残联" in sources.inner_text()
    assert page.evaluate("document.activeElement.id") == "message-input"
    axe(page, "real answer")
    assert (
        page.watch.dialogs == []
        and page.watch.csp_violations == []
        and page.watch.page_errors == []
    )
