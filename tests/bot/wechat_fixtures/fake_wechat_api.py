"""A tiny stand-in for api.weixin.qq.com: /cgi-bin/token and /cgi-bin/message/custom/send."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from typing_extensions import Self

PORTS = range(18200, 18300)  # the range this project's WeChat tests may use


class FakeWeChatAPI:
    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        reject_first_token: bool = False,
        always_reject: bool = False,
    ):
        self.app_id, self.app_secret = app_id, app_secret
        self.reject_first_token = reject_first_token  # the first token issued answers 40001
        self.always_reject = always_reject  # every send answers 40001
        self.tokens_issued: list[str] = []
        self.send_attempts: list[str] = []  # access_token of every send call
        self.delivered: list[dict] = []  # bodies of accepted sends
        self.delivered_event = threading.Event()
        self._server = self._bind()
        # A short poll: leaving waits for the serving loop to notice, 0.5 s by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _bind(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _json(self, data: dict) -> None:
                body = json.dumps(data, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path != "/cgi-bin/token":
                    return self._json({"errcode": 404, "errmsg": "no such api"})
                if q.get("appid") != fake.app_id or q.get("secret") != fake.app_secret:
                    return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                token = f"ACCESS_TOKEN_{len(fake.tokens_issued) + 1}"
                fake.tokens_issued.append(token)
                return self._json({"access_token": token, "expires_in": 7200})

            def do_POST(self):
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path != "/cgi-bin/message/custom/send":
                    return self._json({"errcode": 404, "errmsg": "no such api"})
                token = q.get("access_token", "")
                fake.send_attempts.append(token)
                rejected = fake.always_reject or (
                    fake.reject_first_token
                    and fake.tokens_issued
                    and token == fake.tokens_issued[0]
                )
                if token not in fake.tokens_issued or rejected:
                    return self._json({"errcode": 40001, "errmsg": "invalid credential"})
                fake.delivered.append(json.loads(body.decode("utf-8")))
                fake.delivered_event.set()
                return self._json({"errcode": 0, "errmsg": "ok"})

        for port in PORTS:
            try:
                return ThreadingHTTPServer(("127.0.0.1", port), Handler)
            except OSError:
                continue
        raise RuntimeError("no free port in 18200-18299 for the fake WeChat API")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
