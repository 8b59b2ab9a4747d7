"""The public HTTP API fuzzed from its own OpenAPI schema (schemathesis), over real HTTP.

The gateway, with a fake Rasa and a knowledge base built into a temporary folder, is served by
uvicorn on a loopback port inside this process; schemathesis reads `/openapi.json` and sends
what the schema allows and what it does not. Whatever comes in: no 5xx, no stack trace in a
body, every 4xx with a short Chinese `detail`, and every response as the schema describes it.
The console (HTML, needs a session) and the WeChat handshake are not in the schema: hypothesis
fuzzes them here directly. Fixed seeds (derandomize): the same cases on every run.
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import jsonschema_rs
import pytest
import requests
import schemathesis
import uvicorn
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.chat.visible_text import visible_text
from bot.settings import Settings
from tests.fakes import FakeRasa

# About a minute of fuzzing through a real uvicorn gateway: `make test`, not `make check`.
pytestmark = pytest.mark.slow

WECHAT_TOKEN = "fuzz-wechat-token"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
STACK_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
# Enough cases to cover every operation's schema and its violations in well under a minute.
SCHEMA_EXAMPLES = 150
DIRECT_EXAMPLES = 40
CONSOLE_EXAMPLES = 10  # each one asks every console route; tests/bot/test_console.py has more
FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
DIRECT_SETTINGS = settings(FUZZ_SETTINGS, max_examples=DIRECT_EXAMPLES)


class Gateway:
    """uvicorn serving the app on a socket bound here (no free-port race), in a thread."""

    def __init__(self, app) -> None:
        self.app = app
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        # ws="none": Rasa pins an old websockets. log_config=None: uvicorn's dictConfig would
        # close the logging handlers pytest captures with.
        config = uvicorn.Config(app, log_level="warning", ws="none", log_config=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: self.server.run(sockets=[self.socket]), daemon=True
        )

    def start(self) -> Gateway:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, test_decision, kb_path) -> Iterator[Gateway]:
    work = tmp_path_factory.mktemp("fuzz")
    rasa = FakeRasa("normal").start()
    settings_ = Settings(
        _env_file=None,
        app_env="development",
        secret_key="fuzz-secret-key-that-is-long-enough-0000",
        conversation_db=work / "conversations.db",
        rasa_tracker_db=work / "rasa_tracker.db",
        knowledge_db=kb_path,  # the session's, read-only
        log_dir=work / "logs",
        rasa_url=rasa.url,
        action_server_url=rasa.url,
        rasa_processes=1,
        rasa_timeout=2.5,  # the most the reply promise leaves: /healthz stays healthy when busy
        decision_model=str(test_decision),
        wechat_token=WECHAT_TOKEN,
        # Every case is a new message from one address: the limits would answer most with 429.
        rate_limit_per_minute=0,
        rate_limit_per_address_per_minute=0,
    )
    server = Gateway(create_app(settings_)).start()
    yield server
    server.stop()
    rasa.stop()


@pytest.fixture(scope="module")
def http(gateway) -> Iterator[httpx.Client]:
    # trust_env=False: loopback traffic never goes through a proxy from the environment.
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    """schemathesis's HTTP session, with no proxy from the environment either."""
    with requests.Session() as client:
        client.trust_env = False
        yield client


@pytest.fixture(scope="module")
def api_schema(gateway):
    schema = schemathesis.openapi.from_url(gateway.url + "/openapi.json")
    schema.config.generation.update(max_examples=SCHEMA_EXAMPLES, deterministic=True)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


def assert_no_stack_trace(response) -> None:
    assert not STACK_TRACE.search(response.text), response.text[:500]


def assert_clear_refusal(response) -> None:
    """A 4xx says why in Chinese, as JSON `detail`."""
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("detail"), str), body
    assert CHINESE.search(body["detail"]), body


def request_body_schema(case) -> dict | None:
    """The JSON schema of the operation's request body, its $ref resolved."""
    spec = case.operation.schema.raw_schema
    body = spec["paths"][case.operation.path][case.operation.method.lower()].get("requestBody")
    if body is None:
        return None
    found = body["content"]["application/json"]["schema"]
    name = found.get("$ref", "").rsplit("/", 1)[-1]
    return spec["components"]["schemas"][name] if name else found


def as_validated(body):
    """The body as the API validates it (the length and emptiness rules of its description):
    strings trimmed, the message without invisible characters (bot.chat.visible_text)."""
    if not isinstance(body, dict):
        return body
    out = {k: v.strip() if isinstance(v, str) else v for k, v in body.items()}
    if isinstance(body.get("message"), str):
        out["message"] = visible_text(body["message"]).strip()
    return out


def documented_exceptions(case) -> list:
    """Checks that do not apply to this case: JSON Schema cannot say "1-500 characters after
    trimming", so a body that is invalid as sent but valid as validated is rightly accepted,
    and one valid as sent but blank as validated ("  ", a zero-width space) rightly refused."""
    schema_ = request_body_schema(case)
    if schema_ is None or not isinstance(case.body, dict):
        return []
    valid = jsonschema_rs.validator_for(schema_).is_valid(as_validated(case.body))
    mode = case.meta.generation.mode
    if mode.is_negative and valid:
        return [schemathesis.checks.negative_data_rejection]
    if mode.is_positive and not valid:
        return [schemathesis.checks.positive_data_acceptance]
    return []


@schema.parametrize()
@FUZZ_SETTINGS
def test_the_api_answers_whatever_it_is_sent(case, session):
    response = case.call(session=session)
    # schemathesis's checks: status codes, headers and bodies as documented, valid data
    # accepted and invalid data refused, methods not offered refused with Allow, …
    case.validate_response(response, excluded_checks=documented_exceptions(case))
    assert response.status_code < 500, response.text[:500]
    assert_no_stack_trace(response)
    if 400 <= response.status_code < 500:
        assert_clear_refusal(response)


def test_the_schema_has_the_operations_fuzzed(api_schema):
    """The parametrized test above covers what the schema lists: these at least."""
    operations = set()
    for result in api_schema.get_all_operations():
        operation = result.ok()  # raises for an operation schemathesis could not read
        operations.add((operation.method.upper(), operation.path))
    assert {
        ("POST", "/api/chat"),
        ("POST", "/api/feedback"),
        ("GET", "/api/history"),
        ("GET", "/healthz"),
    } <= operations


# -- what schemathesis does not generate: raw bodies, wrong methods, other paths ---------------

RAW_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"message"',
    b"\xff\xfe\x00m",  # not UTF-8
    b'{"message": "\\ud800"}',  # a lone surrogate, escaped
    b'{"message": "\\udfff\\ud800"}',
    b'{"message": "hi", "sender": "\\ud83d"}',
    b'{"message": 1e999}',
    b'{"message": "' + b"9" * 5000 + b'"}',
    b"[" * 50_000 + b"]" * 50_000,  # deep nesting
    b'{"message": {"$ne": null}}',
    b'{"message": ["a"], "sender": {}}',
    b'{"message": "hi", "message": "\\u0000"}',
]


@pytest.mark.parametrize("body", RAW_BODIES, ids=range(len(RAW_BODIES)))
@pytest.mark.parametrize("path", ["/api/chat", "/api/feedback"])
def test_raw_bodies_get_an_answer_or_a_clear_refusal(http, path, body):
    for content_type in ("application/json", "text/plain", None):
        headers = {"content-type": content_type} if content_type else {}
        response = http.post(path, content=body, headers=headers)
        assert response.status_code in (200, 404, 413, 422), (content_type, response.text)
        assert_no_stack_trace(response)
        if response.status_code != 200:
            assert_clear_refusal(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/chat"),
        ("DELETE", "/api/chat"),
        ("PUT", "/api/feedback"),
        ("POST", "/healthz"),
        ("GET", "/api/nothing-here"),
        ("GET", "/../../etc/passwd"),
        ("GET", "/%00"),
        ("GET", "/static/%2e%2e/%2e%2e/settings.py"),
    ],
)
def test_other_methods_and_paths_are_refused_in_chinese(http, method, path):
    response = http.request(method, path)
    assert 400 <= response.status_code < 500, response.text
    assert_no_stack_trace(response)
    assert_clear_refusal(response)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("GET", "/api/chat", "POST"), ("TRACE", "/api/chat", "POST"), ("POST", "/healthz", "GET")],
)
def test_a_path_of_the_api_with_another_method_is_a_405_that_says_what_is_allowed(
    http, method, path, allow
):
    """The web page's files, mounted at "/", used to answer these with 404 or a bare 405."""
    response = http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["detail"] == "这个地址不支持这种请求方法。"


def test_null_where_the_api_takes_or_gives_null_is_in_the_schema(http):
    spec = http.get("/openapi.json").json()["components"]["schemas"]
    assert spec["ChatRequest"]["properties"]["sender"]["type"] == ["string", "null"]
    assert {"type": "null"} in spec["ChatResponse"]["properties"]["intent"]["anyOf"]
    assert spec["Source"]["properties"]["item"]["type"] == ["integer", "null"]
    assert None in spec["HistoryTurn"]["properties"]["feedback"]["enum"]
    response = http.post("/api/chat", json={"sender": None, "message": "盲人按摩"})
    assert response.status_code == 200 and response.json()["sender"].startswith("web-")


# -- the console: every route refuses without a session -----------------------------------------

PUBLIC_CONSOLE = {"/console/login"}


def console_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if (
            isinstance(route, APIRoute)
            and path.startswith("/console")
            and path not in PUBLIC_CONSOLE
        ):
            found += [(method, path) for method in sorted(route.methods - {"HEAD"})]
    return found


hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "'; DROP TABLE turns;--",
            '" OR 1=1 NEAR(a b) *',
            "\u202e\u200b\ufeff",
            "😀" * 300,
            "../../../etc/passwd",
        ]
    ),
)


@settings(DIRECT_SETTINGS, max_examples=CONSOLE_EXAMPLES)
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "key", "name", "filter", "page", "next"]), hostile_text, max_size=3
    )
)
def test_every_console_route_answers_401_without_a_session(gateway, http, params):
    routes = console_routes(gateway.app)
    assert routes
    for method, path in routes:
        if method == "GET":
            response = http.get(path, params=params)
        else:
            response = http.request(method, path, data=params)
        assert response.status_code == 401, (method, path, response.status_code)
        assert_no_stack_trace(response)


@DIRECT_SETTINGS
@given(
    form=st.dictionaries(st.sampled_from(["password", "csrf", "next"]), hostile_text, max_size=3)
)
def test_the_console_sign_in_refuses_hostile_forms_in_chinese(http, form):
    response = http.post("/console/login", data=form)
    assert response.status_code in (400, 401, 429), response.status_code
    assert_no_stack_trace(response)
    assert CHINESE.search(response.text)


@pytest.mark.parametrize("csrf", ["盲人", "\u200b", "é" * 32])
@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_a_non_ascii_csrf_field_is_an_expired_page_not_a_500(gateway, csrf, encoding):
    """hmac.compare_digest refuses str with non-ASCII characters: with a sign-in cookie set,
    such a field was a TypeError and a 500."""
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as browser:
        assert browser.get("/console/login").status_code == 200  # sets the sign-in cookie
        fields = {"password": "x", "csrf": csrf, "next": "/console"}
        if encoding == "form":
            response = browser.post("/console/login", data=fields)
        else:
            files = {k: (None, v.encode("utf-8")) for k, v in fields.items()}
            response = browser.post("/console/login", files=files)
    assert response.status_code == 400 and "页面已过期" in response.text


# -- the WeChat handshake (GET /wechat) ---------------------------------------------------------


def signed(timestamp: str, nonce: str) -> str:
    """WeChat's handshake signature: sha1 of the sorted token, timestamp and nonce."""
    return hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()


@DIRECT_SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["signature", "timestamp", "nonce", "echostr", "x"]),
        hostile_text,
        max_size=5,
    ),
    sign=st.booleans(),
)
def test_the_wechat_handshake_echoes_only_a_signed_request(http, params, sign):
    if sign:
        params = {**params, "timestamp": "1", "nonce": "n"}
        params["signature"] = signed("1", "n")
    response = http.get("/wechat", params=params)
    assert_no_stack_trace(response)
    if sign:
        assert response.status_code == 200
        assert response.text == params.get("echostr", "")
    else:
        assert response.status_code == 403 and response.text == "forbidden"
