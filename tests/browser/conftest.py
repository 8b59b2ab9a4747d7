"""Real-browser tests: headless Debian Chromium driven by Playwright's sync API.

The gateway (bot.app.create_app) runs in a thread on a free port in 18100-18199 (set
BROWSER_TEST_PORT_BASE to move the range) with a throwaway conversation database, talking to a
fake Rasa. `bash tests/browser/install.sh`
(`make browser-deps`) installs Chromium and axe-core.

Set BROWSER_TEST_BASE_URL to run the page tests against a gateway that is already running.
"""

from __future__ import annotations

import os
import random
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
if str(REPO_ROOT) not in sys.path:  # `tests.fakes` must import however pytest was started
    sys.path.insert(0, str(REPO_ROOT))

from tests.fakes import BLIND_MASSAGE_SOURCE, FakeKnowledgeBase, FakeRasa

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Overridable (BROWSER_TEST_PORT_BASE), so people sharing a machine keep to their own ports.
PORT_BASE = int(os.environ.get("BROWSER_TEST_PORT_BASE", "18100"))
PORTS = range(PORT_BASE, PORT_BASE + 100)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# A same-origin path the tests route to axe-core: the page's CSP (script-src 'self') forbids
# inline scripts, so axe is added as <script src> from this path, keeping the CSP in force.
AXE_ROUTE = "/__test__/axe.min.js"
CONSOLE_PASSWORD = "browser-test-console-password"


def pytest_collection_modifyitems(items):
    for item in items:
        if str(HERE) in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    ports = list(PORTS)
    random.shuffle(ports)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


# --------------------------------------------------------------------------------------
# A fake Rasa REST webhook with canned answers (the shapes of docs/design.md).
# --------------------------------------------------------------------------------------

SOURCE_13 = BLIND_MASSAGE_SOURCE
# Shaped like knowledge.answering's quoted answers: the quote, then the basis and the
# departments (which the page's 依据 box also shows), then the period line.
BASIS_LINE = "依据：黄政办发〔2022〕60号 二（八）第13条"
DEPARTMENTS_LINE = "负责部门：各县（市、区）人民政府、市残联、市人社局、市卫健委"
PERIOD_LINE = "（这是方案中2022-2024年的措施，现在办理请以当地最新政策为准。）"
MASSAGE_TEXT = (
    "根据方案，组织盲人参加盲人医疗按摩人员考试、资格审核、继续教育和职称评审等，"
    "由市残联、市人社局、市卫健委负责。\n想报名可以先问当地残联。\n"
    + f"{BASIS_LINE}\n{DEPARTMENTS_LINE}\n{PERIOD_LINE}"
)
# Buttons about one entry name it in their payload (knowledge.wording.detail_button).
DETAIL_13 = '/ask_detail{"entry":"黄政办发〔2022〕60号#13"}'
RESPONSIBLE_13 = '/ask_responsible{"entry":"黄政办发〔2022〕60号#13"}'
DETAIL_TEXT = "第13条全文：组织盲人参加盲人医疗按摩人员考试、资格审核、继续教育和职称评审等。"
SOURCE_FUNDS = {
    "document": "黄政办发〔2022〕60号",
    "item": None,
    "ref": "三（二）",
    "kind": "safeguard",
    "title": "加强经费保障",
    "departments": ["市财政局"],
    "key": "黄政办发〔2022〕60号#三（二）",
}
FUNDS_TEXT = "三（二）全文：统筹用好残疾人就业保障金，加强经费保障。"
SCRIPT_REPLY = "知识库里的字：<script>alert('kb')</script><img src=x onerror=alert(2)>"


def canned_answer(message: str) -> tuple[str, list[dict], list[dict], bool, str]:
    """(text, buttons, sources, handoff, kind) for a message."""
    if message.startswith("/ask_detail{") and "三（二）" in message:
        return FUNDS_TEXT, [], [SOURCE_FUNDS], False, "detail"
    if message.startswith(("/ask_item", "/ask_detail{")):
        return DETAIL_TEXT, [], [SOURCE_13], False, "detail"
    if "经费" in message:
        return (
            "方案要求统筹用好残疾人就业保障金。",
            [{"title": "详细说说", "payload": "/ask_detail"}],
            [SOURCE_FUNDS],
            False,
            "answer",
        )
    if message.startswith("/ask_responsible"):
        return "这件事由市残联、市人社局、市卫健委负责。", [], [SOURCE_13], False, "departments"
    if "人工" in message:
        return "好的，我帮您转人工。", [], [], True, "handoff"
    if "script" in message.lower() or "<img" in message.lower():
        return SCRIPT_REPLY, [], [], False, "no_answer"
    return (
        MASSAGE_TEXT,
        [
            {"title": "详细说说", "payload": DETAIL_13},
            {"title": "找谁办", "payload": RESPONSIBLE_13},
            {"title": "还有别的吗", "payload": "/ask_more"},
        ],
        [SOURCE_13],
        False,
        "answer",
    )


class ScriptedRasa(FakeRasa):
    """tests.fakes.FakeRasa answering from canned_answer, so each scenario gets its reply."""

    def reply_to(self, payload: dict) -> list[dict]:
        sender = payload.get("sender")
        text, buttons, sources, handoff, kind = canned_answer(payload.get("message", ""))
        meta = {
            "intent": {"name": "ask_blind_massage", "confidence": 0.97},
            "sources": sources,
            "handoff": handoff,
            "kind": kind,
        }
        return [
            {"recipient_id": sender, "text": text, "buttons": buttons},
            {"recipient_id": sender, "custom": {"meta": meta}},
        ]


@pytest.fixture(scope="session")
def fake_rasa_url() -> Iterator[str]:
    fake = ScriptedRasa("normal").start()
    yield fake.url
    fake.stop()


# --------------------------------------------------------------------------------------
# The gateway in a thread
# --------------------------------------------------------------------------------------


class ThreadedServer:
    """uvicorn in a background thread (ws="none": Rasa pins an old `websockets`)."""

    def __init__(self, app, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def gateway_app(tmp_path_factory, fake_rasa_url):
    from bot.app import create_app
    from bot.console.passwords import set_password
    from bot.settings import Settings

    tmp = tmp_path_factory.mktemp("gateway")
    settings = Settings(
        _env_file=None,
        app_env="development",
        secret_key="browser-test-secret-key-0123456789abcdef",
        rasa_url=fake_rasa_url,
        rasa_processes=1,
        action_server_url=fake_rasa_url,
        conversation_db=tmp / "conversations.db",
        rasa_tracker_db=tmp / "rasa_tracker.db",  # not var/: the gateway purges trackers
        knowledge_db=tmp / "missing-knowledge.db",
        log_dir=tmp / "logs",
    )
    app = create_app(settings, open_knowledge=FakeKnowledgeBase)
    set_password(app.state.password_store, CONSOLE_PASSWORD)
    return app


@pytest.fixture(scope="session")
def base_url(request) -> Iterator[str]:
    external = os.environ.get("BROWSER_TEST_BASE_URL")
    if external:
        yield external.rstrip("/")
        return
    app = request.getfixturevalue("gateway_app")
    server = ThreadedServer(app, free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


# --------------------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists() or not AXE_JS.exists():
        pytest.fail("browser test dependencies missing: run `make browser-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageWatch:
    """What a page did that a test may assert on: dialogs, CSP violations, page errors."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.csp_violations: list[str] = []
        self.page_errors: list[str] = []


def _serve_axe(route) -> None:
    route.fulfill(path=str(AXE_JS), content_type="application/javascript")


def new_page(browser, base_url: str, *, width: int = 390, height: int = 844):
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": height},
        locale="zh-CN",
        device_scale_factor=1,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    watch = PageWatch()

    def on_dialog(dialog) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(msg) -> None:
        if "Content Security Policy" in msg.text:
            watch.csp_violations.append(msg.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    page.route("**" + AXE_ROUTE, _serve_axe)
    page.watch = watch  # type: ignore[attr-defined]
    return context, page


@pytest.fixture
def page(browser, base_url):
    context, page = new_page(browser, base_url)
    yield page
    context.close()


@pytest.fixture
def make_page(browser, base_url):
    """Open further pages (another viewport, a second context) closed after the test."""
    contexts = []

    def make(**kwargs):
        context, page = new_page(browser, base_url, **kwargs)
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()


def axe_violations(page, context_selector: str | None = None) -> list[dict]:
    """WCAG 2.1 A/AA violations axe-core finds on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_ROUTE)
        page.wait_for_function("() => typeof window.axe !== 'undefined'")
    return page.evaluate(
        """async ([tags, selector]) => {
            const result = await axe.run(selector ? document.querySelector(selector) : document,
                {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary),
            }));
        }""",
        [WCAG_TAGS, context_selector],
    )


def format_violations(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations
    )


def no_horizontal_scroll(page) -> tuple[int, int]:
    return page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )


@pytest.fixture
def axe():
    """axe(page, label): assert axe-core finds no WCAG 2.1 A/AA violation on the page as it is now."""

    def check(page, label: str) -> None:
        violations = axe_violations(page)
        assert violations == [], f"axe-core, {label}:\n" + format_violations(violations)

    return check


@pytest.fixture
def chat():
    """chat(page, text): type a question into the input with the keyboard and wait for the reply."""

    def ask(page, text: str):
        before = page.locator("#log .msg-bot").count()
        page.locator("#message-input").focus()
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        page.wait_for_function(
            "n => document.querySelectorAll('#log .msg-bot').length > n "
            "&& document.getElementById('log').getAttribute('aria-busy') === 'false'",
            arg=before,
        )
        return page.locator("#log .msg-bot").last

    return ask


@pytest.fixture
def scroll_width():
    return no_horizontal_scroll


@pytest.fixture
def live_page(browser, live_stack):
    """A page on the real stack (tests/conftest.py's live_stack: action server, Rasa, gateway)."""
    context, page = new_page(browser, live_stack)
    page.set_default_timeout(30_000)
    yield page
    context.close()
