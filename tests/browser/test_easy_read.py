"""易读 and 朗读 on the web page in a real browser: the plain summary first with the original one
tap away, remembered like the other switches, axe-core clean in both colour modes, keyboard
only, and read aloud through a stubbed speechSynthesis (the text and the language it is given)."""

from __future__ import annotations

from tests.fakes import PLAIN_13

QUESTION = "盲人按摩考试怎么报名"
EASY_KEY = "zhucan.easyRead"

# Records what the page asks the browser to say; installed before the page's own scripts.
SPEECH_STUB = """
window.__spoken = [];
window.__cancelled = 0;
function FakeUtterance(text) {
  this.text = text; this.lang = ''; this.rate = 1; this.voice = null;
  this.onend = null; this.onerror = null;
}
Object.defineProperty(window, 'SpeechSynthesisUtterance',
  { value: FakeUtterance, configurable: true, writable: true });
Object.defineProperty(window, 'speechSynthesis', { configurable: true, value: {
  speak: function (u) { window.__spoken.push(u); },
  cancel: function () { window.__cancelled += 1; },
  getVoices: function () { return [{ lang: 'en-US', name: 'e' }, { lang: 'zh-CN', name: 'zh' }]; }
} });
"""
NO_SPEECH = """
Object.defineProperty(window, 'speechSynthesis', { value: undefined, configurable: true });
Object.defineProperty(window, 'SpeechSynthesisUtterance', { value: undefined, configurable: true });
"""


def open_chat(page):
    page.goto("/")
    page.wait_for_load_state("networkidle")


def assert_clean(page):
    assert page.watch.dialogs == [], page.watch.dialogs
    assert page.watch.csp_violations == [], page.watch.csp_violations
    assert page.watch.page_errors == [], page.watch.page_errors


def press_with_keyboard(page, name: str) -> None:
    """Tab from the top of the page to the control named `name`, then press Enter."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.locator("body").focus()
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return (e.getAttribute('aria-label') || e.textContent || '').trim(); })()"
        )
        if focused == name:
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"Tab never reached {name}")


def spoken(page) -> list[dict]:
    return page.evaluate(
        "window.__spoken.map(u => ({text: u.text, lang: u.lang, rate: u.rate,"
        " voice: u.voice && u.voice.lang}))"
    )


# ---------------------------------------------------------------------------------------------


def test_easy_read_shows_the_plain_summary_first_and_the_original_one_tap_away(page, chat, axe):
    open_chat(page)
    switch = page.get_by_role("button", name="易读")
    assert switch.get_attribute("aria-pressed") == "false"
    answer = chat(page, QUESTION)
    # Off: the answer as before, no summary, no 原文 control.
    assert answer.locator(".plain").is_hidden()
    assert answer.locator(".msg-text").first.is_visible()
    assert answer.locator("summary").is_hidden()

    press_with_keyboard(page, "易读")
    assert switch.get_attribute("aria-pressed") == "true"
    plain = answer.locator(".plain")
    assert plain.is_visible()
    assert [p.strip() for p in plain.locator(".plain-line").all_inner_texts()] == PLAIN_13
    assert answer.locator(".msg-text").first.is_hidden(), "the original waits under 原文"
    original = answer.get_by_text("原文", exact=True)
    assert original.is_visible()
    # The summary comes first, in larger type with more space between lines.
    order = answer.evaluate(
        "m => [m.querySelector('.plain'), m.querySelector('.original')]"
        ".map(e => [...m.querySelectorAll('*')].indexOf(e))"
    )
    assert order[0] < order[1]
    sizes = answer.evaluate(
        "m => ['.plain-line', '.msg-text', '.source-ref'].map(s => {"
        " const c = getComputedStyle(m.querySelector(s));"
        " return [parseFloat(c.fontSize), parseFloat(c.lineHeight)]; })"
    )
    assert sizes[0][0] >= sizes[2][0] * 1.2, f"larger type: {sizes}"
    assert sizes[0][1] / sizes[0][0] >= 1.8, f"more space between lines: {sizes}"
    # 依据 and the departments stay.
    assert answer.locator(".sources").is_visible()
    assert "负责部门：各县（市、区）人民政府、市残联、市人社局、市卫健委" in (
        answer.locator(".sources").inner_text()
    )
    axe(page, "易读 on, original closed")

    original.focus()
    page.keyboard.press("Enter")  # one tap (or key) away
    assert answer.locator(".msg-text").first.is_visible()
    assert "盲人医疗按摩人员考试" in answer.locator(".msg-text").first.inner_text()
    axe(page, "易读 on, original open")

    press_with_keyboard(page, "易读")
    assert switch.get_attribute("aria-pressed") == "false"
    assert answer.locator(".plain").is_hidden() and answer.locator("summary").is_hidden()
    assert answer.locator(".msg-text").first.is_visible()
    assert_clean(page)


def test_easy_read_is_axe_clean_in_both_colour_modes_and_large_text(page, chat, axe):
    open_chat(page)
    page.get_by_role("button", name="易读").click()
    chat(page, QUESTION)
    chat(page, "经费怎么保障")  # a safeguard's summary
    axe(page, "易读, normal colours")
    page.get_by_role("button", name="高对比度").click()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 0, 0)"
    axe(page, "易读, high contrast")
    page.get_by_role("button", name="大字").click()
    axe(page, "易读, high contrast, large text")
    page.get_by_role("button", name="高对比度").click()
    axe(page, "易读, large text")
    assert_clean(page)


def test_easy_read_is_remembered_and_applies_to_restored_answers(page, chat):
    open_chat(page)
    chat(page, QUESTION)
    page.get_by_role("button", name="易读").click()
    assert page.evaluate(f"localStorage.getItem('{EASY_KEY}')") == "1"
    page.reload()
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#log .msg-bot")
    assert page.get_by_role("button", name="易读").get_attribute("aria-pressed") == "true"
    assert "easy-read" in page.evaluate("document.documentElement.className")
    restored = page.locator("#log .msg-bot").last
    assert restored.locator(".plain").is_visible(), "the summary came back with the history"
    assert restored.locator(".msg-text").first.is_hidden()
    assert_clean(page)


def test_an_answer_without_a_summary_is_shown_as_before(page, chat):
    open_chat(page)
    page.get_by_role("button", name="易读").click()
    answer = chat(page, "我要找人工")
    assert answer.locator(".plain").count() == 0 and answer.locator("summary").count() == 0
    assert answer.locator(".msg-text").first.is_visible()
    assert_clean(page)


def test_read_aloud_speaks_the_answer_in_mandarin_and_can_be_stopped(page, chat):
    page.add_init_script(SPEECH_STUB)
    open_chat(page)
    answer = chat(page, QUESTION)
    button = answer.get_by_role("button", name="朗读")
    assert button.is_visible()

    press_with_keyboard(page, "朗读")
    [said] = spoken(page)
    assert said["lang"] == "zh-CN" and said["voice"] == "zh-CN"
    assert said["text"].startswith("根据方案，组织盲人参加盲人医疗按摩人员考试")
    assert "负责部门：各县（市、区）人民政府、市残联、市人社局、市卫健委" in said["text"]
    stop = answer.get_by_role("button", name="停止朗读")
    assert stop.is_visible()

    cancelled = page.evaluate("window.__cancelled")
    press_with_keyboard(page, "停止朗读")
    assert page.evaluate("window.__cancelled") == cancelled + 1
    assert answer.get_by_role("button", name="朗读").is_visible()
    assert len(spoken(page)) == 1, "stopping does not speak again"
    assert_clean(page)


def test_read_aloud_with_easy_read_speaks_the_plain_summary(page, chat):
    page.add_init_script(SPEECH_STUB)
    open_chat(page)
    page.get_by_role("button", name="易读").click()
    answer = chat(page, QUESTION)
    press_with_keyboard(page, "朗读")
    [said] = spoken(page)
    assert said["text"] == "\n".join(PLAIN_13)
    assert said["lang"] == "zh-CN"
    # When the browser has finished reading, the button offers 朗读 again.
    page.evaluate("window.__spoken[0].onend()")
    assert answer.get_by_role("button", name="朗读").is_visible()


def test_a_second_answer_read_aloud_stops_the_first(page, chat):
    page.add_init_script(SPEECH_STUB)
    open_chat(page)
    chat(page, QUESTION)
    chat(page, "经费怎么保障")
    first, second = page.locator("#log .msg-bot").nth(0), page.locator("#log .msg-bot").nth(1)
    first.get_by_role("button", name="朗读").click()
    second.get_by_role("button", name="朗读").click()
    assert [s["text"][:6] for s in spoken(page)] == ["根据方案，组", "方案要求统筹"]
    assert first.get_by_role("button", name="朗读").is_visible()
    assert second.get_by_role("button", name="停止朗读").is_visible()
    # The first one's end, arriving late, does not reset the second.
    page.evaluate("window.__spoken[0].onend()")
    assert second.get_by_role("button", name="停止朗读").is_visible()


def test_without_speech_synthesis_the_page_works_unchanged(page, chat, axe):
    page.add_init_script(NO_SPEECH)
    open_chat(page)
    assert page.evaluate("window.speechSynthesis === undefined")
    answer = chat(page, QUESTION)
    assert answer.locator(".speak-button").count() == 0
    assert "盲人医疗按摩人员考试" in answer.locator(".msg-text").first.inner_text()
    page.get_by_role("button", name="易读").click()
    assert answer.locator(".plain").is_visible()
    axe(page, "no speech synthesis")
    assert_clean(page)
