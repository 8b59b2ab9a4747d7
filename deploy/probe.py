"""Health checks for the containers, with the standard library only (the image has no curl).

    python deploy/probe.py URL    exit 0 when GET URL answers 2xx within 5 s
    python deploy/probe.py rasa   Rasa's /status with RASA_TOKEN; the first time it answers,
                                  one message through Rasa and the action server (warm-up)

Rasa's /status needs the token of its HTTP API, which a Kubernetes httpGet probe cannot take
from a Secret; this reads it from the environment instead. The warm-up is the launcher's
(bot/cli/launcher.py): the first message after a start loads the classifiers and the knowledge
base and would miss the gateway's 3 s, so a new Rasa counts as ready only once it is warm.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

RASA_PORT = int(os.environ.get("RASA_PORT", "5005"))
WARM_UP_SENDER = "launcher-warm-up"
WARM_MARKER = Path(tempfile.gettempdir()) / "rasa-warm"
TIMEOUT = 5
WARM_UP_TIMEOUT = 60


def ok(url: str, timeout: float = TIMEOUT) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def warm_up(base: str) -> bool:
    request = urllib.request.Request(
        f"{base}/webhooks/rest/webhook",
        data=json.dumps({"sender": WARM_UP_SENDER, "message": "你好"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=WARM_UP_TIMEOUT) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def rasa(base: str, marker: Path = WARM_MARKER) -> bool:
    token = os.environ.get("RASA_TOKEN", "")
    if not ok(f"{base}/status?token={token}"):
        return False
    if marker.exists():
        return True
    if not warm_up(base):
        return False
    marker.touch()
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    target = argv[0]
    healthy = rasa(f"http://127.0.0.1:{RASA_PORT}") if target == "rasa" else ok(target)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
