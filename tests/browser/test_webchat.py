"""The web chat page in a real browser: keyboard use, screen-reader structure, axe-core,
small screens and large text, escaping, history, feedback, remembered display switches."""

from __future__ import annotations

import json
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

QUESTION = "盲人按摩考试怎么报名"
NETWORK_ERROR = "网络出了问题，请稍后再试，或拨打12385"


def open_chat(page):
    page.goto("/")
    page.wait_for_load_state("networkidle")


def assert_clean(page):
    watch = page.watch
    assert watch.dialogs == [], f"dialogs opened: {watch.dialogs}"
    assert watch.csp_violations == [], f"CSP violations: {watch.csp_violations}"
    assert watch.page_errors == [], f"script errors: {watch.page_errors}"


def active_id(page) -> str:
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


# ---------------------------------------------------------------------------------------------


def test_keyboard_alone_question_answer_and_source(page):
    open_chat(page)
    # Tab from the top of the page to the input, as a keyboard user would.
    visited = []
    for _ in range(30):
        page.keyboard.press("Tab")
        visited.append(
            page.evaluate("document.activeElement.textContent.trim() || document.activeElement.id")
        )
        if active_id(page) == "message-input":
            break
    assert active_id(page) == "message-input", f"Tab never reached the input: {visited}"
    assert visited[0] == "跳到输入框", "the first Tab stop is the skip link"

    page.keyboard.type(QUESTION)
    assert page.locator("#char-count").inner_text() == f"已输入 {len(QUESTION)} 字，共可输入 500 字"
    page.keyboard.press("Enter")
    page.wait_for_selector("#log .msg-bot")
    page.wait_for_function(
        "() => document.getElementById('log').getAttribute('aria-busy') === 'false'"
    )

    assert active_id(page) == "message-input", "focus stays in the input after sending"
    assert page.locator("#message-input").input_value() == ""
    user = page.locator("#log .msg-user").last
    assert user.locator(".msg-text").inner_text() == QUESTION
    assert user.locator(".visually-hidden").text_content() == "我说："
    bot = page.locator("#log .msg-bot").last
    assert bot.locator(".visually-hidden").first.text_content() == "助手说："
    assert "盲人医疗按摩人员考试" in bot.locator(".msg-text").first.inner_text()
    sources = bot.locator(".sources")
    assert sources.locator(".sources-title").inner_text() == "依据"
    assert "二（八）13" in sources.inner_text()
    assert "积极开展盲人按摩就业促进行动" in sources.inner_text()
    assert "负责部门：各县（市、区）人民政府、市残联、市人社局、市卫健委" in sources.inner_text()
    # The full item is one step away: the reply button 详细说说 asks for it (so the 依据 box
    # does not offer the same thing again as 查看原文).
    assert bot.get_by_role("button", name="详细说说（二（八）13）", exact=True).is_visible()
    assert bot.get_by_role("button", name="查看原文：二（八）13").count() == 0
    assert page.locator("#log-empty").is_hidden()

    # The focus ring on the input is visible (a real outline, not colour alone).
    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert outline[0] != "none" and outline[1] >= 2, outline

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webchat-answer.png"), full_page=True)
    assert_clean(page)


def test_reply_is_added_once_and_complete(page, chat):
    """The log (a polite live region) gets each message as one finished node, while aria-busy
    holds the announcement until the reply is there: a reply is announced once, when complete."""
    open_chat(page)
    log = page.get_by_role("log", name="对话记录")
    assert log.count() == 1
    page.evaluate(
        """() => {
            const log = document.getElementById('log');
            window.__added = []; window.__later = 0;
            new MutationObserver(records => {
                for (const r of records) {
                    if (r.target === log && r.type === 'childList') {
                        for (const n of r.addedNodes) window.__added.push(
                            {cls: n.className, text: n.textContent, busy: log.getAttribute('aria-busy')});
                    } else if (r.target !== log && r.type !== 'attributes') {
                        window.__later += 1;   // something changed inside a message after it was added
                    }
                }
            }).observe(log, {childList: true, subtree: true, characterData: true});
        }"""
    )
    chat(page, QUESTION)
    added = page.evaluate("window.__added")
    assert [a["cls"] for a in added] == ["msg msg-user", "msg msg-bot"]
    assert added[0]["busy"] == "true", "the log is busy while the reply is awaited"
    assert "依据" in added[1]["text"] and "二（八）13" in added[1]["text"], (
        "the reply arrives complete"
    )
    assert page.evaluate("window.__later") == 0
    assert log.get_attribute("aria-busy") == "false"
    assert log.get_attribute("aria-live") == "polite"


def test_axe_before_and_after_a_conversation(page, chat, axe):
    open_chat(page)
    axe(page, "before")

    chat(page, QUESTION)
    page.get_by_role("button", name="有帮助").last.click()
    page.get_by_role("button", name="找人工").click()
    page.wait_for_selector("#log .handoff")
    page.wait_for_function(
        "() => document.getElementById('log').getAttribute('aria-busy') === 'false'"
    )
    axe(page, "after")
    assert_clean(page)


def test_axe_in_high_contrast_and_large_text(page, chat, axe):
    open_chat(page)
    chat(page, QUESTION)
    page.get_by_role("button", name="高对比度").click()
    assert page.evaluate("document.documentElement.classList.contains('high-contrast')")
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(0, 0, 0)", "high contrast really changes the colours"
    axe(page, "high contrast")

    page.get_by_role("button", name="高对比度").click()
    page.get_by_role("button", name="大字").click()
    size = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.msg-text')).fontSize)"
    )
    assert size >= 24, f"larger text is really larger: {size}px"
    axe(page, "large text")

    page.get_by_role("button", name="高对比度").click()
    axe(page, "both")
    assert_clean(page)


def test_switches_are_toggle_buttons_remembered_after_reload(page):
    open_chat(page)
    large = page.get_by_role("button", name="大字")
    contrast = page.get_by_role("button", name="高对比度")
    assert large.get_attribute("aria-pressed") == "false"
    assert contrast.get_attribute("aria-pressed") == "false"
    base = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")

    large.focus()
    page.keyboard.press("Enter")  # keyboard works on the switches
    contrast.focus()
    page.keyboard.press("Space")
    assert large.get_attribute("aria-pressed") == "true"
    assert contrast.get_attribute("aria-pressed") == "true"

    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="大字").get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="高对比度").get_attribute("aria-pressed") == "true"
    classes = page.evaluate("document.documentElement.className")
    assert "large-text" in classes and "high-contrast" in classes
    assert (
        page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        > base * 1.2
    )

    page.get_by_role("button", name="大字").click()
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="大字").get_attribute("aria-pressed") == "false"
    assert page.get_by_role("button", name="高对比度").get_attribute("aria-pressed") == "true"
    assert_clean(page)


def _text_scale(page, factor: int) -> None:
    """The browser's own text-size setting (what "200% text" means for a user)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 16 * factor, "fixed": 13 * factor}})


def test_no_horizontal_scroll_at_320px_and_200_percent_text(make_page, chat, scroll_width, axe):
    page = make_page(width=320, height=640)
    open_chat(page)
    chat(page, QUESTION)
    chat(page, "我要找人工")
    width, client = scroll_width(page)
    assert width <= client, f"320 px: scrollWidth {width} > clientWidth {client}"

    _text_scale(page, 2)
    size = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.msg-text')).fontSize)"
    )
    assert size >= 32, f"text really is doubled: {size}px"
    width, client = scroll_width(page)
    assert width <= client, f"320 px, 200% text: scrollWidth {width} > clientWidth {client}"

    page.get_by_role("button", name="大字").click()
    width, client = scroll_width(page)
    assert width <= client, f"320 px, 200% text + 大字: scrollWidth {width} > clientWidth {client}"
    axe(page, "320 px, 200% text")
    # Every control is still fully on screen.
    off = page.evaluate(
        """() => [...document.querySelectorAll('button, input, a')]
            .filter(e => e.offsetParent !== null)
            .filter(e => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth + 0.5; })
            .map(e => e.textContent || e.id)"""
    )
    assert off == []
    assert_clean(page)


def test_markup_in_messages_is_shown_as_text(page, chat):
    open_chat(page)
    evil = "<img src=x onerror=alert(1)>"
    bot = chat(page, evil)
    page.wait_for_timeout(500)  # give an onerror handler the time it would need
    assert page.locator("#log .msg-user .msg-text").last.inner_text() == evil
    assert "<script>alert('kb')</script>" in bot.inner_text()
    assert page.locator("#log img").count() == 0
    assert page.locator("#log script").count() == 0
    assert page.watch.dialogs == [], "no alert() ran"
    assert_clean(page)


def test_history_survives_reload_with_button_titles(page, chat):
    open_chat(page)
    chat(page, QUESTION)
    page.get_by_role("button", name="找谁办").click()
    page.wait_for_function("() => document.querySelectorAll('#log .msg-bot').length === 2")
    assert page.locator("#log .msg-user .msg-text").last.inner_text() == "找谁办", (
        "the title, not /ask_responsible"
    )

    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#log .msg-bot').length === 2")
    users = page.locator("#log .msg-user .msg-text").all_inner_texts()
    assert users == [QUESTION, "找谁办"]
    first = page.locator("#log .msg-bot").first
    assert "盲人医疗按摩人员考试" in first.inner_text()
    assert "二（八）13" in first.locator(".sources").inner_text()
    assert page.locator("#log .msg-bot").nth(1).get_by_role("button", name="有帮助").count() == 1
    # A fresh browser (no cookie) does not see this conversation.
    assert_clean(page)


def test_other_browser_does_not_see_the_conversation(page, make_page, chat):
    open_chat(page)
    chat(page, QUESTION)
    other = make_page()
    open_chat(other)
    assert other.locator("#log .msg").count() == 0
    assert other.locator("#log-empty").is_visible()


def test_feedback_buttons_toggle_and_post(page, chat):
    open_chat(page)
    with page.expect_response("**/api/chat") as answered:
        bot = chat(page, QUESTION)
    # The answer id travels in a header, not in the body of the chat API.
    answer_id = answered.value.headers["x-answer-id"]
    assert "answer_id" not in answered.value.json()
    up = bot.get_by_role("button", name="有帮助")
    down = bot.get_by_role("button", name="没帮助")
    assert (
        up.get_attribute("aria-pressed") == "false"
        and down.get_attribute("aria-pressed") == "false"
    )

    with page.expect_response("**/api/feedback") as info:
        up.click()
    response = info.value
    assert response.status == 200
    sent = json.loads(response.request.post_data)
    assert sent == {"answer_id": answer_id, "value": "up"}
    assert (
        up.get_attribute("aria-pressed") == "true" and down.get_attribute("aria-pressed") == "false"
    )

    with page.expect_response("**/api/feedback") as info:
        down.click()
    assert info.value.status == 200
    assert json.loads(info.value.request.post_data) == {
        "answer_id": sent["answer_id"],
        "value": "down",
    }
    assert (
        up.get_attribute("aria-pressed") == "false" and down.get_attribute("aria-pressed") == "true"
    )

    page.reload()
    page.wait_for_selector("#log .msg-bot")
    restored = page.locator("#log .msg-bot").last
    assert restored.get_by_role("button", name="没帮助").get_attribute("aria-pressed") == "true"
    assert restored.get_by_role("button", name="有帮助").get_attribute("aria-pressed") == "false"
    assert_clean(page)


def test_detail_button_and_topic_buttons(page):
    open_chat(page)
    topics = page.locator("#topic-list button").all_inner_texts()
    for topic in ["补贴", "烟草零售", "盲人按摩", "大学生就业", "培训", "农村就业"]:
        assert topic in topics
    page.get_by_role("button", name="盲人按摩").click()
    page.wait_for_selector("#log .msg-bot")
    # The answer's 详细说说 already asks for the entry's full text, so that is the one button
    # for it (no 查看原文 repeating the same payload in the 依据 box).
    assert page.get_by_role("button", name="查看原文：二（八）13").count() == 0
    with page.expect_request("**/api/chat") as asked:
        page.get_by_role("button", name="详细说说（二（八）13）", exact=True).click()
    # It asks for the entry's full text (not the first sentence quoted in a payload).
    assert json.loads(asked.value.post_data) == {
        "message": '/ask_detail{"entry":"黄政办发〔2022〕60号#13"}'
    }
    page.wait_for_function("() => document.querySelectorAll('#log .msg-bot').length === 2")
    assert page.locator("#log .msg-user .msg-text").last.inner_text() == "详细说说", (
        "the visible title, not the accessible name"
    )
    assert "第13条全文" in page.locator("#log .msg-bot").last.inner_text()
    assert_clean(page)


def test_view_original_of_a_safeguard_is_not_confused_with_the_reply_button(page, chat):
    """The trial: the 依据 button was labelled like the reply button 详细说说 and quoted only
    the item's first sentence."""
    open_chat(page)
    bot = chat(page, "经费保障怎么落实")
    detail = bot.get_by_role("button", name="查看原文：三（二）", exact=True)
    assert detail.count() == 1 and detail.is_visible()
    assert bot.locator(".sources").get_by_role("button").all_inner_texts() == ["查看原文：三（二）"]
    assert bot.get_by_role("button", name="详细说说", exact=True).count() == 1  # the reply button
    assert bot.locator("button", has_text="详细说说：").count() == 0
    with page.expect_request("**/api/chat") as asked:
        detail.click()
    assert json.loads(asked.value.post_data) == {
        "message": '/ask_detail{"entry":"黄政办发〔2022〕60号#三（二）"}'
    }
    page.wait_for_function("() => document.querySelectorAll('#log .msg-bot').length === 2")
    assert "三（二）全文" in page.locator("#log .msg-bot").last.inner_text()
    # After a reload the press is shown as the button the user saw (the gateway logs the title).
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#log .msg-bot').length === 2")
    users = page.locator("#log .msg-user .msg-text").all_inner_texts()
    assert users == ["经费保障怎么落实", "查看原文：三（二）"]
    assert_clean(page)


def test_handoff_is_a_notice_with_the_hotline(page, chat):
    open_chat(page)
    bot = chat(page, "我要找人工")
    notice = bot.locator(".handoff")
    assert "12385" in notice.inner_text()
    assert notice.get_by_role("link", name="12385").get_attribute("href") == "tel:12385"


def test_network_error_is_explained_and_the_words_kept(page):
    open_chat(page)
    page.route("**/api/chat", lambda route: route.abort("internetdisconnected"))
    page.locator("#message-input").focus()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('error').textContent.length > 0")
    assert page.get_by_role("alert").inner_text() == NETWORK_ERROR
    assert page.locator("#message-input").input_value() == QUESTION
    assert active_id(page) == "message-input"
    assert page.locator("#log .msg-failed").count() == 1


def test_422_detail_is_shown(page):
    open_chat(page)
    detail = "消息太长了，请控制在 500 个字以内。"
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(
            status=422,
            content_type="application/json",
            body=json.dumps({"detail": detail}, ensure_ascii=False),
        ),
    )
    page.locator("#message-input").focus()
    page.keyboard.type("你好")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('error').textContent.length > 0")
    assert page.get_by_role("alert").inner_text() == detail


def test_429_is_read_out_in_the_log_and_the_words_kept(page):
    """Too fast: the gateway's detail is put in the log (a live region, read once the reply
    wait is over), not in the alert too, and the question stays in the box to send again."""
    open_chat(page)
    detail = "您发得太快了，请等 3 秒再发。"
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "3"},
            content_type="application/json",
            body=json.dumps({"detail": detail}, ensure_ascii=False),
        ),
    )
    page.locator("#message-input").focus()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#log .msg-failed') "
        "&& document.getElementById('log').getAttribute('aria-busy') === 'false'"
    )
    log = page.get_by_role("log", name="对话记录")
    assert log.get_attribute("aria-live") == "polite"
    assert log.locator(".msg-user .msg-failed").inner_text() == "（这条没有发出去）" + detail
    assert log.locator(".msg-bot").count() == 0
    assert page.locator("#error").inner_text() == ""
    assert page.locator("#message-input").input_value() == QUESTION
    assert active_id(page) == "message-input"
    assert_clean(page)


def test_real_gateway_rejects_what_the_page_would_not_send(page):
    """The page's own limits match the API: 500 characters (maxlength) and nothing empty."""
    open_chat(page)
    assert page.locator("#message-input").get_attribute("maxlength") == "500"
    status = page.evaluate(
        """async () => (await fetch('/api/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({message: 'x'.repeat(501)})})).status"""
    )
    assert status == 422
    page.locator("#message-input").focus()
    page.keyboard.press("Enter")
    assert page.get_by_role("alert").inner_text() == "请先输入问题。"
    assert page.locator("#log .msg").count() == 0


def test_privacy_notice_comes_before_the_conversation(page):
    open_chat(page)
    notice = page.get_by_role("region", name="使用前请看")
    text = notice.inner_text()
    for words in [
        "问题和助手的回答",
        "时间和渠道",
        "除非您自己打在问题里",
        "改进回答",
        "热线",
        "身份证号",
        "手机号",
        "银行卡号",
        "自动遮盖",
        "敏感",
        "不要输入姓名",
    ]:
        assert words in text, words
    # Typed text is stored as typed: the notice must not promise that no name is kept.
    assert "不保存您的姓名" not in text
    order = page.evaluate(
        "document.querySelector('.privacy').compareDocumentPosition(document.getElementById('log'))"
    )
    assert order & 4, "the notice precedes the log"  # DOCUMENT_POSITION_FOLLOWING
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.get_by_role("heading", level=1).inner_text() == "助残就业政策助手"
    assert "黄政办发〔2022〕60号" in page.locator(".subtitle").inner_text()


def test_every_control_is_reachable_by_tab(page, chat):
    open_chat(page)
    chat(page, QUESTION)
    page.evaluate("document.activeElement.blur()")
    page.locator("body").focus()
    controls = page.evaluate(
        "[...document.querySelectorAll('a[href], button, input')].filter(e => e.offsetParent !== null).length"
    )
    reached = set()
    for _ in range(controls + 5):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "(() => { const e = document.activeElement;"
                " return [...document.querySelectorAll('a[href], button, input')].indexOf(e); })()"
            )
        )
    reached.discard(-1)
    assert len(reached) >= controls, f"only {len(reached)} of {controls} controls reachable by Tab"
    # No click handlers on non-controls: every clickable thing is a button, link or input.
    assert page.locator("[onclick], div[tabindex], span[tabindex]").count() == 0


# --- each thing is read once, and each answer's buttons say which answer they belong to ----

DOC = "黄政办发〔2022〕60号"
# The last lines of the canned answer to QUESTION (conftest.MASSAGE_TEXT).
BASIS_LINE = "依据：黄政办发〔2022〕60号 二（八）第13条"
DEPARTMENTS_LINE = "负责部门：各县（市、区）人民政府、市残联、市人社局、市卫健委"
PERIOD_LINE = "（这是方案中2022-2024年的措施，现在办理请以当地最新政策为准。）"
SOURCE_FUNDS_API = {
    "document": DOC,
    "item": None,
    "ref": "三（二）",
    "title": "加强经费保障",
    "departments": ["市财政局"],
    "key": DOC + "#三（二）",
    "detail": '/ask_detail{"entry":"' + DOC + '#三（二）"}',
}
SOURCE_13_API = {
    "document": DOC,
    "item": 13,
    "ref": "二（八）13",
    "title": "积极开展盲人按摩就业促进行动",
    "departments": ["市残联"],
    "key": DOC + "#13",
    "detail": '/ask_detail{"entry":"' + DOC + '#13"}',
}


def _answer_with(page, replies: list[dict], sources: list[dict]) -> None:
    """Make /api/chat answer with exactly these replies and sources."""
    body = {"sender": "x", "replies": replies, "sources": sources, "intent": None, "handoff": False}
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(body, ensure_ascii=False)
        ),
    )


def test_basis_and_departments_are_read_once(page, chat):
    open_chat(page)
    bot = chat(page, QUESTION)
    text = bot.locator(".msg-text").inner_text()
    assert "依据：" not in text and "负责部门：" not in text, text
    assert "盲人医疗按摩人员考试" in text and "想报名可以先问当地残联。" in text
    assert text.endswith(PERIOD_LINE), "the period line stays"
    sources = bot.locator(".sources").inner_text()
    assert "二（八）13" in sources and DEPARTMENTS_LINE in sources, "the box still shows them"
    assert bot.inner_text().count("负责部门：") == 1
    # The same after a reload (history).
    page.reload()
    page.wait_for_selector("#log .msg-bot")
    restored = page.locator("#log .msg-bot").last
    assert restored.locator(".msg-text").inner_text() == text
    assert DEPARTMENTS_LINE in restored.locator(".sources").inner_text()
    assert_clean(page)


def test_without_sources_the_text_is_shown_as_is(page, chat):
    open_chat(page)
    whole = f"根据方案，<b>不</b>是标签。\n{BASIS_LINE}\n{DEPARTMENTS_LINE}\n{PERIOD_LINE}"
    _answer_with(page, [{"text": whole, "buttons": []}], [])
    bot = chat(page, "随便问问")
    assert bot.locator(".msg-text").inner_text() == whole
    assert bot.locator(".sources").count() == 0
    assert bot.locator("b").count() == 0, "still text, never markup"
    assert_clean(page)


def test_reply_buttons_name_the_answer_they_belong_to(page, chat, axe):
    open_chat(page)
    chat(page, QUESTION)
    chat(page, "经费保障怎么落实")
    first, second = page.locator("#log .msg-bot").nth(0), page.locator("#log .msg-bot").nth(1)
    # Titles as they were; names that add the entry's ref where the payload names an entry.
    assert first.locator(".reply-buttons button").all_inner_texts() == [
        "详细说说",
        "找谁办",
        "还有别的吗",
    ]
    names = [
        first.get_by_role("button", name=n, exact=True).count()
        for n in ["详细说说（二（八）13）", "找谁办（二（八）13）", "还有别的吗"]
    ]
    assert names == [1, 1, 1]
    # A button without an entry keeps its name (and its 查看原文 stays in the 依据 box).
    assert second.get_by_role("button", name="详细说说", exact=True).count() == 1
    assert second.get_by_role("button", name="查看原文：三（二）", exact=True).count() == 1
    axe(page, "reply buttons with references")

    # Several sources: each button gets the ref of the source its entry is; a safeguard's key is
    # its ref. An entry not among the sources, or a payload that is not JSON, keeps the title.
    _answer_with(
        page,
        [
            {
                "text": "根据方案，……",
                "buttons": [
                    {"title": "详细说说", "payload": '/ask_detail{"entry":"' + DOC + '#三（二）"}'},
                    {"title": "找谁办", "payload": '/ask_responsible{"entry":"' + DOC + '#13"}'},
                    {"title": "别的条", "payload": '/ask_detail{"entry":"' + DOC + '#99"}'},
                    {"title": "坏的", "payload": '/ask_detail{"entry":'},
                ],
            }
        ],
        [SOURCE_13_API, SOURCE_FUNDS_API],
    )
    chat(page, "两条都问")
    third = page.locator("#log .msg-bot").nth(2)
    labels = third.locator(".reply-buttons button").evaluate_all(
        "bs => bs.map(b => [b.textContent, b.getAttribute('aria-label')])"
    )
    assert labels == [
        ["详细说说", "详细说说（三（二））"],
        ["找谁办", "找谁办（二（八）13）"],
        ["别的条", None],
        ["坏的", None],
    ]
    # 查看原文 only where no reply button already asks for that entry's full text.
    assert third.locator(".sources").get_by_role("button").all_inner_texts() == [
        "查看原文：二（八）13"
    ]
    assert_clean(page)
