"""The page on the real stack: the trained model and the built knowledge base answer."""

from __future__ import annotations

import pytest


@pytest.mark.e2e
def test_blind_massage_question_cites_item_13(live_page, chat, axe):
    page = live_page
    page.goto("/")
    page.wait_for_load_state("networkidle")
    bot = chat(page, "盲人按摩考试谁组织")
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


def press_until_focused(page, title: str, key: str = "Shift+Tab", most: int = 120) -> None:
    """Move the keyboard focus with `key` until it is on the (last) button called `title`."""
    for _ in range(most):
        page.keyboard.press(key)
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e && e.tagName === 'BUTTON' ? e.textContent.trim() : null; }"
        )
        if focused == title:
            return
    raise AssertionError(f"the keyboard never reached the button {title!r}")


def press_button(page, title: str) -> None:
    """Reach a button with the keyboard alone, press Enter, wait for the reply."""
    before = page.locator("#log .msg-bot").count()
    page.locator("#message-input").focus()
    press_until_focused(page, title)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#log .msg-bot').length > n "
        "&& document.getElementById('log').getAttribute('aria-busy') === 'false'",
        arg=before,
    )


@pytest.mark.e2e
def test_the_situation_check_by_keyboard_alone(live_page, axe):
    page = live_page
    page.goto("/")
    page.wait_for_load_state("networkidle")
    press_button(page, "看看我适合哪些政策")
    question = page.locator("#log .msg-bot").last
    assert "请问您是？" in question.inner_text()
    assert question.get_by_role("button", name="不想说").count() == 1
    axe(page, "the check's first question")
    for answer in ("我是残疾人本人", "视力残疾", "就业年龄段", "在校或应届大学生", "阳新县", "农村"):
        press_button(page, answer)
    result = page.locator("#log .msg-bot").last
    assert "根据您的回答" in result.inner_text()
    assert "二（八）13" in result.locator(".sources").inner_text()
    assert "二（六）8" in result.locator(".sources").inner_text()
    axe(page, "the check's result")
    assert page.watch.page_errors == []
