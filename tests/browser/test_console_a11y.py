"""axe-core on every page of the hotline console (engineer G's pages), signed in with a real browser."""

from __future__ import annotations

import pytest

CONSOLE_PASSWORD = "browser-test-console-password"  # set on the app in conftest.gateway_app
DOC = "黄政办发〔2022〕60号"

PAGES = [
    ("search with results", "/console?q=盲人按摩", "积极开展盲人按摩就业促进行动"),
    ("browse", "/console/browse", "主要任务"),
    ("entry", f"/console/entry?key={DOC}%2313", "二（八）13"),
    ("departments", "/console/departments", "市残联"),
    ("department", "/console/departments?name=市残联", "市残联"),
    ("log", "/console/log", "盲人按摩考试怎么报名"),
    (
        "log with a button press",
        "/console/log",
        f'（点了按钮，指令 /ask_responsible{{"entry":"{DOC}#13"}}）',
    ),
    ("unanswered", "/console/unanswered", "onerror"),
    ("review", "/console/review", "onerror"),
    ("review a question", "/console/review/question?key=imgsrcxonerroralert1", "应该怎么答"),
    ("retrain", "/console/retrain", "用审核结果重新训练"),
]


@pytest.fixture
def signed_in_page(page, base_url, axe, chat):
    # Something in the log and one unanswered question, so those pages have rows.
    page.goto("/")
    chat(page, "盲人按摩考试怎么报名")
    page.get_by_role("button", name="找谁办").click()  # logged as its title, payload beside it
    page.wait_for_function("() => document.querySelectorAll('#log .msg-bot').length === 2")
    chat(page, "<img src=x onerror=alert(1)>")

    page.goto("/console/login")
    axe(page, "console sign-in")
    page.get_by_label("密码").focus()
    page.keyboard.type(CONSOLE_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console")
    return page


@pytest.mark.parametrize("label,path,expected", PAGES, ids=[p[0] for p in PAGES])
def test_console_page_has_no_wcag_violations(signed_in_page, axe, label, path, expected):
    page = signed_in_page
    response = page.goto(path)
    assert response.status == 200, f"{path}: {response.status}"
    assert "/console/login" not in page.url, "still signed in"
    assert expected in page.locator("main").inner_text(), f"{label} shows its content"
    axe(page, label)
    assert page.watch.dialogs == []
    assert page.watch.csp_violations == []
