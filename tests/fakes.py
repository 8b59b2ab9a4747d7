"""Test doubles: a fake Rasa server (a real HTTP server in a thread) and a fake knowledge base."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLIND_MASSAGE_SOURCE = {
    "document": "黄政办发〔2022〕60号",
    "item": 13,
    "ref": "二（八）13",
    "kind": "item",
    "title": "积极开展盲人按摩就业促进行动",
    "departments": ["各县（市、区）人民政府", "市残联", "市人社局", "市卫健委"],
    "key": "黄政办发〔2022〕60号#13",
}
MODES = ("normal", "down", "slow", "empty", "garbage")


class FakeRasa:
    """Imitates Rasa's REST webhook (and /status, and the action server's /health).

    normal: a text with buttons plus the custom `meta` payload; down: connection refused;
    slow: answers after `slow_seconds`; empty: `[]` (what Rasa sends when an action fails);
    garbage: 200 with a body that is not JSON.
    """

    def __init__(
        self, mode: str = "normal", slow_seconds: float = 10.0, parse: dict | None = None
    ) -> None:
        self.mode = mode
        self.slow_seconds = slow_seconds
        # What /model/parse answers (intent, intent_ranking, entities); None: not offered.
        self.parse = parse
        self.received: list[dict] = []
        self.meta = {
            "intent": {"name": "ask_blind_massage", "confidence": 0.97},
            "sources": [BLIND_MASSAGE_SOURCE],
            "handoff": False,
            "kind": "answer",
        }
        self._server: ThreadingHTTPServer | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FakeRasa:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: bytes, content_type="application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/status":
                    self._send(200, b'{"model_file": "fake.tar.gz"}')
                elif self.path == "/health":
                    self._send(200, b'{"status": "ok"}')
                else:
                    self._send(404, b"{}")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                fake.received.append(payload)
                if fake.mode == "slow":
                    time.sleep(fake.slow_seconds)
                if self.path == "/model/parse":
                    if fake.parse is None:
                        self._send(404, b"{}")
                    else:
                        self._send(200, json.dumps(fake.parse, ensure_ascii=False).encode())
                elif fake.mode == "empty":
                    self._send(200, b"[]")
                elif fake.mode == "garbage":
                    self._send(200, b"<html>Internal oops</html>", "text/html")
                else:
                    self._send(200, json.dumps(fake.reply_to(payload), ensure_ascii=False).encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        if self.mode == "down":
            # Keep the port number but refuse connections.
            self._server.server_close()
            self._server = None
            return self
        # A short poll: stop() waits for the serving loop to notice (0.5 s by default), per test.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def reply_to(self, payload: dict) -> list[dict]:
        sender = payload.get("sender")
        return [
            {
                "recipient_id": sender,
                "text": f"关于盲人医疗按摩：{payload.get('message')}",
                "buttons": [{"title": "找谁办", "payload": "/ask_responsible"}],
            },
            {"recipient_id": sender, "custom": {"meta": self.meta}},
        ]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# -- a knowledge base with the shape of knowledge.store, for console tests -------------------


@dataclass(frozen=True)
class FakeEntry:
    key: str
    kind: str
    document: str
    item: int | None
    ref: str
    title: str
    text: str
    departments: list[str]
    sentences: list[str] = field(default_factory=list)
    value: int | None = None

    def source(self) -> dict:
        return {
            "document": self.document,
            "item": self.item,
            "ref": self.ref,
            "kind": self.kind,
            "title": self.title,
            "departments": list(self.departments),
            "key": self.key,
        }


@dataclass(frozen=True)
class FakePlainSummary:
    key: str
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# Easy-read summaries as knowledge/easy_read.yml words them (the 13th with no term, the
# safeguard with none either; tests of term explanations use the real knowledge base).
PLAIN_13 = [
    "盲人可以参加医疗按摩考试和培训。",
    "可以开医疗按摩所，或去医院等地方工作。",
    "可以问市残联或市卫健委。",
]
PLAIN_FUNDS = [
    "市里会定残疾人就业补贴和奖励的办法。",
    "招残疾人超过比例的单位，奖励更多。",
    "方案没写找哪个部门。",
]


@dataclass(frozen=True)
class FakeHit:
    entry: FakeEntry
    score: float
    loose: bool = False


@dataclass(frozen=True)
class FakeDepartment:
    name: str
    aliases: list[str]
    keys: list[str]


@dataclass(frozen=True)
class FakeAction:
    ref: str
    numeral: str
    heading: str
    keys: list[str]


@dataclass(frozen=True)
class FakePart:
    ref: str
    numeral: str
    heading: str
    text: str
    actions: list[FakeAction]
    keys: list[str]


DOC = "黄政办发〔2022〕60号"


@dataclass(frozen=True)
class FakeDocument:
    number: str
    title: str


class FakeKnowledgeBase:
    """Two items and a safeguard; search matches any query character against title and text."""

    def __init__(self) -> None:
        self._entries = {
            e.key: e
            for e in [
                FakeEntry(
                    f"{DOC}#2",
                    "item",
                    DOC,
                    2,
                    "二（二）2",
                    "积极开展国有企业带头安排残疾人就业行动",
                    "各地烟草专卖管理部门对残疾人申请设立卷烟零售点的，按照申请地域所属区域间距标准的60%执行。",
                    ["市残联", "市烟草专卖局"],
                ),
                FakeEntry(
                    f"{DOC}#13",
                    "item",
                    DOC,
                    13,
                    "二（八）13",
                    "积极开展盲人按摩就业促进行动",
                    "组织盲人医疗按摩人员参加全国盲人医疗按摩人员考试。",
                    ["市残联", "市人社局", "市卫健委"],
                ),
                FakeEntry(
                    f"{DOC}#三（二）",
                    "safeguard",
                    DOC,
                    None,
                    "三（二）",
                    "加强经费保障",
                    "统筹用好残疾人就业保障金。",
                    ["市财政局"],
                ),
            ]
        }

    def document(self, number=None):
        if number not in (None, DOC):
            raise LookupError(number)
        return FakeDocument(DOC, "黄石市促进残疾人就业三年行动实施方案（2022-2024年）")

    def search(self, query, limit=5, kinds=None, keys=None, fallback=False):
        hits = []
        for entry in self._entries.values():
            score = sum(1 for ch in set(query) if ch in entry.title + entry.text)
            if score:
                hits.append(FakeHit(entry, float(score)))
        return sorted(hits, key=lambda h: -h.score)[:limit]

    def entry(self, key):
        try:
            return self._entries[key]
        except KeyError:
            raise LookupError(key) from None

    def entries(self, kind=None, document=None):
        return [e for e in self._entries.values() if kind is None or e.kind == kind]

    def plain_summary(self, key):
        lines = {f"{DOC}#13": PLAIN_13, f"{DOC}#三（二）": PLAIN_FUNDS}.get(key)
        return FakePlainSummary(key, lines) if lines else None

    def departments(self):
        names: dict[str, list[str]] = {}
        for e in self._entries.values():
            for d in e.departments:
                names.setdefault(d, []).append(e.key)
        return [FakeDepartment(n, [], keys) for n, keys in names.items()]

    def department(self, name):
        for d in self.departments():
            if d.name == name:
                return d
        raise LookupError(name)

    def structure(self, number=None):
        return [
            FakePart(
                "二",
                "二",
                "主要任务",
                "",
                [
                    FakeAction(
                        "二（二）", "（二）", "积极开展国有企业带头安排残疾人就业行动", [f"{DOC}#2"]
                    ),
                    FakeAction("二（八）", "（八）", "积极开展盲人按摩就业促进行动", [f"{DOC}#13"]),
                ],
                [],
            ),
            FakePart("三", "三", "保障措施", "", [], [f"{DOC}#三（二）"]),
        ]
