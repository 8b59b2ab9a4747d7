"""A model switch drains one Rasa server at a time: its conversations go to another meanwhile."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot.chat.model_loading import marker
from bot.chat.rasa_client import RasaClient
from bot.cli import model_switch


def test_while_a_rasa_loads_a_model_its_conversations_go_to_another(fake_rasa, tmp_path):
    loading, other = fake_rasa("normal"), fake_rasa("normal")
    client = RasaClient([loading.url, other.url], other.url, timeout=2.0, run_dir=tmp_path)
    senders = [f"person-{i}" for i in range(20)]
    marker(tmp_path, loading.url).touch()

    async def talk():
        try:
            for sender in senders:
                await client.send(sender, "你好")
            marker(tmp_path, loading.url).unlink()
            for sender in senders:
                await client.send(sender, "谢谢")
        finally:
            await client.aclose()

    asyncio.run(talk())
    assert [m["message"] for m in loading.received] == ["谢谢"] * len(loading.received)
    assert len(loading.received) > 0, "after loading it gets its own conversations back"
    assert len(other.received) == len(senders) + (len(senders) - len(loading.received))


def test_the_switch_marks_the_server_only_while_it_loads(tmp_path, monkeypatch):
    seen = []

    class Rasa(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _ok(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_GET(self):
            self._ok()

        def do_PUT(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((body["model_file"], marker(tmp_path, url).exists()))
            self._ok()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Rasa)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(model_switch, "DRAIN_SECONDS", 0.0)
    try:
        model = tmp_path / "assistant.tar.gz"
        model.write_bytes(b"model")
        result = model_switch.load_model(url, "", model, tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert result["ok"] is True
    assert seen == [(str(model.resolve()), True)]
    assert not marker(tmp_path, url).exists()
