"""A Rasa server that is loading a new model: a marker file the gateway reads.

While `PUT /model` loads a model (about 16 s on two busy cores) that Rasa server answers
nothing. The retrain (bot/cli/retrain.py) writes a marker for it first; the gateway's Rasa client
then sends its conversations to another Rasa server (they share one tracker store, so each
conversation keeps its context), and the switch waits for the messages already sent there.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit


def marker(run_dir: Path, url: str) -> Path:
    """The marker of the Rasa server at `url` (var/run/loading-<port>)."""
    return run_dir / f"loading-{urlsplit(url).port or 0}"


def is_loading(run_dir: Path | None, url: str) -> bool:
    return run_dir is not None and marker(run_dir, url).exists()
