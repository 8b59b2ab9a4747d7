"""The hotline console: sign-in on every route, search, browse, log filters, grouping, CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re

import pytest
from fastapi.routing import APIRoute
from itsdangerous import URLSafeTimedSerializer

from bot import deps
from bot.chat.rasa_client import RasaClient
from bot.console import passwords
from bot.console.passwords import WeakPassword, has_password, set_password, verify_password
from bot.console.session import SESSION_COOKIE
from bot.console.spoken import spoken_ref
from bot.console.throttle import LoginThrottle
from tests.bot.conftest import CONSOLE_PASSWORD, PRODUCTION_SCRYPT_PARAMS, sign_in
from tests.fakes import DOC, FakeDocument, FakeEntry, FakeKnowledgeBase

PUBLIC = {"/console/login"}


def console_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/console") and path not in PUBLIC:
            assert isinstance(route, APIRoute), f"{path} is not a checked route"
            for method in sorted(route.methods - {"HEAD"}):
                found.append((method, path))
    return found


EXPECTED_ROUTES = {
    ("GET", "/console"),
    ("GET", "/console/browse"),
    ("GET", "/console/departments"),
    ("GET", "/console/entry"),
    ("GET", "/console/log"),
    ("GET", "/console/unanswered"),
    ("GET", "/console/log.csv"),
    ("POST", "/console/logout"),
    ("POST", "/console/forget"),
    ("GET", "/console/review"),
    ("GET", "/console/review/question"),
    ("POST", "/console/review"),
    ("POST", "/console/review/undo"),
    ("GET", "/console/retrain"),
    ("GET", "/console/retrain/status"),
    ("POST", "/console/retrain"),
}


def test_console_has_the_expected_routes(console_client):
    # Exactly these: a new route must be added here, so the refusal test below covers it.
    assert set(console_routes(console_client.app)) == EXPECTED_ROUTES


@pytest.mark.parametrize("forged", [None, "garbage", "other-key"])
def test_every_console_route_refuses_an_unsigned_request(console_client, forged):
    if forged == "other-key":
        value = URLSafeTimedSerializer("another-secret", salt=SESSION_COOKIE).dumps(
            {"v": "x", "csrf": "y"}
        )
    else:
        value = forged
    headers = {"cookie": f"{SESSION_COOKIE}={value}"} if value else {}
    _chat(console_client, "a", "盲人按摩考试")  # something in the log that must not leak
    routes = console_routes(console_client.app)
    assert set(routes) == EXPECTED_ROUTES
    for method, path in routes:
        for follow in (False, True):  # a client following redirects must not get in either
            response = console_client.request(
                method,
                path,
                headers={**headers, "accept": "text/html,*/*"},
                params={"key": f"{DOC}#13", "q": "盲人"},
                data={"csrf": "x"} if method == "POST" else None,
                follow_redirects=follow,
            )
            assert response.status_code == 401, (method, path, follow)
            assert "location" not in response.headers
            assert "盲人" not in response.text and "市卫健委" not in response.text
            assert not response.headers["content-type"].startswith("text/csv")
            if method == "GET" and path != "/console/log.csv":
                # A browser user sees the sign-in form in place, set up to come back here.
                assert 'action="/console/login"' in response.text
                assert f'name="next" value="{path}"' in response.text
                assert "工作台导航" not in response.text
            else:
                assert response.json() == {"detail": "请先登录热线工作台。"}
    assert console_client.get("/console/login").status_code == 200  # the one public page


def test_sign_in_from_the_401_page_returns_to_the_page(console_client):
    page = console_client.get("/console/log")
    assert page.status_code == 401
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = console_client.post(
        "/console/login",
        data={"password": CONSOLE_PASSWORD, "csrf": csrf, "next": "/console/log"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/console/log"
    assert console_client.get("/console/log").status_code == 200


def test_signed_in_operator_reaches_every_get_route(signed_in):
    for method, path in console_routes(signed_in.app):
        if method == "GET":
            response = signed_in.get(path, params={"key": "黄政办发〔2022〕60号#13"})
            assert response.status_code == 200, path


def test_sign_in_flow(console_client):
    response = sign_in(console_client)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert console_client.get("/console").status_code == 200


def test_wrong_password_is_refused(console_client):
    response = sign_in(console_client, "not-the-password")
    assert response.status_code == 401 and "密码不对" in response.text
    assert console_client.get("/console", follow_redirects=False).status_code == 401


def test_sign_in_without_csrf_token_is_refused(console_client):
    response = console_client.post(
        "/console/login", data={"password": CONSOLE_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 400
    assert console_client.get("/console", follow_redirects=False).status_code == 401


def test_repeated_failures_are_throttled(console_client):
    for _ in range(5):
        assert sign_in(console_client, "wrong-password").status_code == 401
    assert sign_in(console_client).status_code == 429


def test_the_throttle_remembers_only_clients_that_failed_and_only_so_many():
    throttle = LoginThrottle(limit=2, window=600, max_clients=3)
    for n in range(1000):
        assert not throttle.blocked(f"10.0.{n // 256}.{n % 256}")
    assert len(throttle._failures) == 0, "checking a client must not remember it"
    for n in range(10):
        throttle.failed(f"client-{n}")
    assert len(throttle._failures) == 3
    throttle.failed("client-9")
    assert throttle.blocked("client-9") and not throttle.blocked("client-0")


def test_the_sign_in_form_for_an_unsigned_page_reads_the_password_off_the_event_loop(
    console_client, monkeypatch
):
    from bot.console import routes

    on_loop = []

    def spy(log):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return has_password(log)

    monkeypatch.setattr(routes, "has_password", spy)
    assert console_client.get("/console/log", follow_redirects=False).status_code == 401
    assert on_loop == [False]


def test_no_password_means_no_way_in(client):
    client.app.dependency_overrides[deps.knowledge_opener] = lambda: lambda: None
    page = client.get("/console/login")
    assert "python -m bot set-password" in page.text
    for guess in ("", "admin", "password", "changeme"):
        assert sign_in(client, guess).status_code == 401


def test_password_rules_and_hashing(tmp_path, console_client):
    log = console_client.app.state.password_store
    with pytest.raises(WeakPassword):
        set_password(log, "short")
    record = log.record()
    assert CONSOLE_PASSWORD not in str(record) and len(bytes.fromhex(record["salt"])) == 16
    assert verify_password(log, CONSOLE_PASSWORD) and not verify_password(
        log, CONSOLE_PASSWORD + "x"
    )


def test_a_password_is_stored_at_the_production_cost(console_client, monkeypatch):
    monkeypatch.setattr(passwords, "SCRYPT_PARAMS", PRODUCTION_SCRYPT_PARAMS)
    store = console_client.app.state.password_store
    set_password(store, "a-production-password")
    assert json.loads(store.record()["params"]) == {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
    assert verify_password(store, "a-production-password")
    assert sign_in(console_client, "a-production-password").status_code == 303


def test_new_password_ends_old_sessions(signed_in):
    set_password(signed_in.app.state.password_store, "a-brand-new-password")
    assert signed_in.get("/console", follow_redirects=False).status_code == 401


def test_logout_needs_csrf_and_ends_session(signed_in):
    assert signed_in.post("/console/logout", data={}, follow_redirects=False).status_code == 400
    page = signed_in.get("/console").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = signed_in.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert signed_in.get("/console", follow_redirects=False).status_code == 401


def test_next_is_only_followed_inside_the_console(console_client):
    page = console_client.get("/console/login", params={"next": "https://evil.example/"})
    assert 'name="next" value="/console"' in page.text


# -- pages ------------------------------------------------------------------------------------


def test_search_shows_verbatim_text_reference_departments_and_copy_text(signed_in):
    page = signed_in.get("/console", params={"q": "盲人按摩考试"}).text
    assert "组织盲人医疗按摩人员参加全国盲人医疗按摩人员考试。" in page
    assert "二（八）13" in page and "市卫健委" in page
    assert 'data-copy="copy-' in page and "<textarea" in page and "readonly" in page
    assert "根据《黄石市促进残疾人就业三年行动实施方案（2022-2024年）》" in page
    # best match first (the fake ranks by shared characters)
    assert "卷烟零售点" not in page or page.index("盲人医疗按摩") < page.index("卷烟零售点")


def test_each_entry_shows_its_easy_read_summary_ready_to_copy(signed_in):
    page = signed_in.get("/console/browse").text
    card_13 = page[page.index("copy-黄政办发202260号-13-title") :]
    card_13 = card_13[: card_13.index("</article>")]
    assert "易读说法" in card_13
    assert (
        '<textarea id="copy-黄政办发202260号-13-plain" rows="3" readonly>'
        "盲人可以参加医疗按摩考试和培训。\n可以开医疗按摩所，或去医院等地方工作。\n"
        "可以问市残联或市卫健委。</textarea>"
    ) in card_13
    assert 'data-copy="copy-黄政办发202260号-13-plain"' in card_13
    # An entry without a summary shows none (the fake has none for item 2).
    card_2 = page[page.index("copy-黄政办发202260号-2-title") :]
    assert "易读说法" not in card_2[: card_2.index("</article>")]


def test_search_masks_numbers_typed_by_staff(signed_in):
    page = signed_in.get("/console", params={"q": "来电 13912345678 盲人"}).text
    assert "13912345678" not in page and "[手机号]" in page


def test_copy_text_takes_the_plan_title_from_the_knowledge_base(signed_in):
    class Renamed(FakeKnowledgeBase):
        def document(self, number=None):
            return FakeDocument(DOC, "另一个标题的方案")

    signed_in.app.dependency_overrides[deps.knowledge_opener] = lambda: Renamed
    page = signed_in.get("/console", params={"q": "盲人按摩考试"}).text
    assert f"根据《另一个标题的方案》（{DOC}）二（八）第13条" in page
    assert "根据《黄石市促进残疾人就业三年行动实施方案" not in page


def test_copy_text_reads_aloud_naturally(signed_in):
    """The trial: "第二（二）2条" is awkward to read out; "二（二）第2条" and "三（二）" are not."""
    page = signed_in.get("/console/browse").text
    assert (
        "（黄政办发〔2022〕60号）二（二）第2条（积极开展国有企业带头安排残疾人就业行动）：" in page
    )
    assert "（黄政办发〔2022〕60号）三（二）（加强经费保障）：" in page
    assert "第二（" not in page and "第三（" not in page and "”部分" not in page


@pytest.mark.parametrize(
    "kind, ref, spoken",
    [
        ("item", "二（八）13", "二（八）第13条"),
        ("item", "二（十）21", "二（十）第21条"),
        ("safeguard", "三（二）", "三（二）"),
        ("target", "一", "第一部分"),
        ("target", "二（六）8", "二（六）第8条"),
        ("document", "通知", "“通知”部分"),
    ],
)
def test_spoken_ref(kind, ref, spoken):
    entry = FakeEntry("k", kind, DOC, None, ref, "标题", "正文", [])
    assert spoken_ref(entry) == spoken


def test_browse_by_part_and_action(signed_in):
    page = signed_in.get("/console/browse").text
    assert "主要任务" in page and "积极开展盲人按摩就业促进行动" in page and "保障措施" in page
    assert page.index("二（二）") < page.index("二（八）") < page.index("加强经费保障")


def test_browse_by_department(signed_in):
    listing = signed_in.get("/console/departments").text
    assert "市烟草专卖局" in listing and "市财政局" in listing
    page = signed_in.get("/console/departments", params={"name": "市卫健委"}).text
    assert "市卫健委负责的条目" in page and "盲人医疗按摩" in page and "卷烟零售点" not in page
    unknown = signed_in.get("/console/departments", params={"name": "市气象局"}).text
    assert "没有“市气象局”" in unknown


def test_entry_page_and_missing_entry(signed_in):
    assert (
        "加强经费保障"
        in signed_in.get("/console/entry", params={"key": "黄政办发〔2022〕60号#三（二）"}).text
    )
    assert signed_in.get("/console/entry", params={"key": "nope"}).status_code == 404


def test_missing_knowledge_base_is_explained(signed_in):
    def missing():
        raise FileNotFoundError

    signed_in.app.dependency_overrides[deps.knowledge_opener] = lambda: missing
    page = signed_in.get("/console", params={"q": "盲人"})
    assert page.status_code == 200 and "知识库暂时不可用" in page.text


def _chat(client, sender, message, fake_meta=None):
    return client.post("/api/chat", json={"sender": sender, "message": message}).json()


def test_log_shows_answers_and_filters(signed_in):
    _chat(signed_in, "a", "盲人按摩考试")
    web = signed_in.post("/api/chat", json={"message": "网页上问的"})
    answer_id = web.headers["x-answer-id"]
    signed_in.post("/api/feedback", json={"answer_id": answer_id, "value": "down"})
    page = signed_in.get("/console/log").text
    assert "盲人按摩考试" in page and "ask_blind_massage" in page and "0.97" in page
    assert "二（八）13" in page and "👎 没用" in page
    down = signed_in.get("/console/log", params={"filter": "down"}).text
    assert "网页上问的" in down and "盲人按摩考试" not in down
    api_only = signed_in.get("/console/log", params={"channel": "api"}).text
    assert "盲人按摩考试" in api_only and "网页上问的" not in api_only
    assert "没有符合条件的对话" in signed_in.get("/console/log", params={"filter": "handoff"}).text


DETAIL_13 = '/ask_detail{"entry":"黄政办发〔2022〕60号#13"}'


def test_log_and_csv_show_button_presses_as_the_buttons_the_user_saw(signed_in):
    """The trial: the log and CSV showed `/ask_responsible` and `/ask_item{…}` payloads."""
    _chat(signed_in, "a", "盲人按摩考试")  # offers 找谁办 (/ask_responsible) and cites 二（八）13
    _chat(signed_in, "a", "/ask_responsible")
    _chat(signed_in, "a", DETAIL_13)  # the web page's 查看原文 button under the source
    _chat(signed_in, "b", '/ask_item{"entry":"黄政办发〔2022〕60号#21"}')  # offered nowhere
    page = signed_in.get("/console/log").text
    cells = re.findall(r"<tr[^>]*>\s*<td>[^<]*</td>\s*<td>(.*?)</td>", page, re.DOTALL)
    assert any(c.startswith("找谁办<br>") and "/ask_responsible" in c for c in cells), cells
    assert any(c.startswith("查看原文：二（八）13<br>") for c in cells), cells
    assert any(c.startswith("/ask_item{") for c in cells), cells  # not offered: shown as sent
    rows = list(csv.reader(io.StringIO(signed_in.get("/console/log.csv").text.lstrip("\ufeff"))))
    assert rows[0][3:5] == ["问题", "按钮指令"]
    shown = {r[3]: r[4] for r in rows[1:]}
    assert shown["找谁办"] == "/ask_responsible"
    assert shown["查看原文：二（八）13"] == DETAIL_13
    assert shown["盲人按摩考试"] == ""
    assert "/ask_responsible" not in shown


def test_unanswered_page_groups_and_counts(signed_in, fake_rasa):
    rasa = fake_rasa("normal")
    rasa.meta = {
        "intent": {"name": "out_of_scope", "confidence": 0.9},
        "sources": [],
        "handoff": False,
        "kind": "out_of_scope",
    }
    signed_in.app.state.chat_service.rasa = RasaClient(rasa.url, rasa.url, timeout=1.0)
    for text in ("残疾证怎么办？", "残疾证 怎么办", "今天天气"):
        _chat(signed_in, "u", text)
    page = signed_in.get("/console/unanswered").text
    rows = re.findall(r"<tr><td>(.*?)</td><td>(\d+)</td>", page)
    assert rows[0][1] == "2" and rows[0][0].startswith("残疾证")
    assert ("今天天气", "1") in rows
    low = signed_in.get("/console/log", params={"filter": "unanswered"}).text
    assert "今天天气" in low


def test_csv_export_for_excel(signed_in):
    _chat(signed_in, "a", "盲人按摩考试")
    _chat(signed_in, "b", '=HYPERLINK("http://x")')
    response = signed_in.get("/console/log.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["时间", "渠道", "对话（哈希）", "问题"]
    messages = [r[3] for r in rows[1:]]
    assert "盲人按摩考试" in messages
    assert '\'=HYPERLINK("http://x")' in messages  # formulas defused
    assert all(r[1] == "api" for r in rows[1:])
    only_web = signed_in.get("/console/log.csv", params={"channel": "web"}).content.decode(
        "utf-8-sig"
    )
    assert len(list(csv.reader(io.StringIO(only_web)))) == 1


def test_console_pages_have_no_inline_script_and_are_labelled(signed_in):
    for path in (
        "/console",
        "/console/browse",
        "/console/departments",
        "/console/log",
        "/console/unanswered",
        "/console/login",
    ):
        page = signed_in.get(path, params={"q": "盲人"}).text
        assert '<html lang="zh-CN">' in page
        assert 'class="skip-link" href="#main"' in page and 'id="main"' in page
        assert "<h1>" in page
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r"<[^>]+\son[a-z]+=", page), path  # no inline event handlers
        for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page):
            assert f'for="{input_id}"' in page, (path, input_id)


def test_every_page_showing_conversation_text_leaves_an_audit_row(signed_in):
    log = signed_in.app.state.conversation_log
    signed_in.get("/console/log", params={"filter": "unanswered", "channel": "web"})
    signed_in.get("/console/unanswered")
    signed_in.get("/console/log.csv", params={"filter": "handoff"})
    signed_in.get("/console/departments")  # the plan only: no conversation text, no row
    rows = list(reversed(log.audit_rows()))
    assert [(r["page"], r["channel"], r["filter"]) for r in rows] == [
        ("log", "web", "unanswered"),
        ("unanswered", None, None),
        ("log.csv", None, "handoff"),
    ]
    assert all(r["time"] and r["rows"] is not None for r in rows)
