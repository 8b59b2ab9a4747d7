"""The switch to a new model: every Rasa server the launcher started loads it, one at a time.

While one server loads, the gateway sends its conversations to the others (a marker file the
gateway reads: bot/chat/model_loading.py), so nobody waits for a model to load.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from bot.chat.model_loading import marker
from bot.settings import Settings

# Before a Rasa server loads the new model, the messages already sent to it are answered: the
# gateway's promise is 3 s a reply (bot/chat/service.py REPLY_PROMISE_SECONDS).
DRAIN_SECONDS = 3.0
LOAD_SECONDS = 600  # a Rasa server loading a model on a busy machine


def rasa_servers(settings: Settings) -> list[tuple[str, str]]:
    """(url, token) of every Rasa server the launcher started: from its stack file, or from
    the settings (RASA_URL and the ports after it, RASA_TOKEN) when there is none."""
    stack_file = settings.log_dir.parent / "run" / "stack.json"
    try:
        stack = json.loads(stack_file.read_text(encoding="utf-8"))
        return [(s["url"], stack.get("rasa_token", "")) for s in stack.get("rasa", [])]
    except (OSError, ValueError, KeyError, TypeError):
        return [(url, settings.rasa_token) for url in settings.rasa_urls]


def load_model(url: str, token: str, model: Path, run_dir: Path | None = None) -> dict[str, Any]:
    """`PUT /model` on one Rasa server; it answers once the new model is loaded. Meanwhile the
    gateway sends that server's conversations to the others (bot/chat/model_loading.py)."""
    if run_dir is None:
        return _load_model(url, token, model)
    flag = marker(run_dir, url)
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.touch()
    try:
        # Messages already sent to it get their answers before it stops answering.
        time.sleep(DRAIN_SECONDS)
        return _load_model(url, token, model)
    finally:
        flag.unlink(missing_ok=True)


def _load_model(url: str, token: str, model: Path) -> dict[str, Any]:
    began = time.monotonic()
    params = {"token": token} if token else {}
    try:
        with httpx.Client(timeout=LOAD_SECONDS, trust_env=False) as http:
            http.get(f"{url}/status", params=params, timeout=5).raise_for_status()
            response = http.put(
                f"{url}/model", params=params, json={"model_file": str(model.resolve())}
            )
            response.raise_for_status()
    except httpx.ConnectError:
        return {"url": url, "ok": False, "error": "没有在运行", "seconds": 0.0}
    except httpx.HTTPError as exc:
        return {"url": url, "ok": False, "error": type(exc).__name__, "seconds": 0.0}
    return {"url": url, "ok": True, "error": None, "seconds": round(time.monotonic() - began, 1)}


def replace_file(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.new")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
