"""The web page's privacy notice says how many days conversations are kept (RETENTION_DAYS, from
GET /api/privacy) and how to have one deleted; the console deletes one."""

from __future__ import annotations

from knowledge.wording import retention_notice

CONSOLE_PASSWORD = "browser-test-console-password"  # set on the app in conftest.gateway_app


def notice_text(page) -> str:
    return page.get_by_role("region", name="使用前请看").locator("#retention-notice").inner_text()


def test_the_notice_states_the_configured_days(page, gateway_app):
    days = gateway_app.state.settings.retention_days
    page.goto("/")
    page.wait_for_function(
        "() => document.getElementById('retention-days').textContent.includes('天')"
    )
    text = notice_text(page)
    assert f"对话记录保存 {days} 天，到期自动删除" in text
    assert text == retention_notice(days)  # word for word what the WeChat welcome says
    link = page.locator("#retention-notice").get_by_role("link", name="12385")
    assert link.get_attribute("href") == "tel:12385"
    assert page.watch.page_errors == []


def test_without_the_number_the_notice_stays_true(page):
    page.route("**/api/privacy", lambda route: route.abort())
    page.goto("/")
    page.wait_for_load_state("networkidle")
    assert "对话记录保存一段时间，到期自动删除" in notice_text(page)
    assert page.get_by_role("alert").inner_text() == ""  # nothing to alarm anyone with
    assert page.watch.page_errors == []


def test_the_console_deletes_a_conversation_with_a_keyboard(page, chat, axe):
    marker = "请删除我的这段对话甲乙丙"
    page.goto("/")
    chat(page, marker)
    page.goto("/console/login")
    page.get_by_label("密码").focus()
    page.keyboard.type(CONSOLE_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console")

    page.goto("/console/log")
    section = page.locator("section.conversation", has_text=marker)
    button = section.get_by_role("button", name="删除这段对话")
    # Every conversation has such a button: each is described by its conversation's heading.
    described_by = button.evaluate(
        "b => document.getElementById(b.getAttribute('aria-describedby')).textContent"
    )
    assert described_by == section.get_by_role("heading", level=2).inner_text()
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/forget")
    assert page.get_by_role("heading", level=1).inner_text() == "删除这段对话？"
    axe(page, "console: confirm deleting a conversation")

    page.get_by_role("button", name="确定删除").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('h1').textContent === '已删除这段对话'")
    assert "删除了对话记录里的 1 轮问答" in page.locator("main").inner_text()
    axe(page, "console: conversation deleted")
    page.goto("/console/log")
    assert marker not in page.locator("main").inner_text()
