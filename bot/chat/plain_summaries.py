"""The easy-read (易读) summary of each cited entry, added to an answer's sources by the gateway.

The summaries are reviewed data in the knowledge base (knowledge/easy_read.yml); the gateway adds
them here rather than Rasa's action, so Rasa's payload stays small and a model trained before
the summaries existed still gets them. Without a knowledge base (or a summary) a source simply
has none: the answer itself never depends on it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)

PLAIN_FIELD = "plain"


class PlainSummaries:
    def __init__(self, open_knowledge: Callable[[], object]) -> None:
        # A callable, not a knowledge base: one built after the gateway started is picked up.
        self._open = open_knowledge

    def text(self, key: str | None) -> str | None:
        """The summary's lines, one per line, or None."""
        if not key:
            return None
        try:
            summary = self._open().plain_summary(key)
        except (KnowledgeError, LookupError, sqlite3.Error, AttributeError) as error:
            log.debug("no plain summary for %s: %s", key, type(error).__name__)
            return None
        return summary.text if summary is not None else None

    def add_to(self, sources: list[dict]) -> list[dict]:
        """Copies of `sources`, each with `plain` (None when its entry has no summary)."""
        return [{**source, PLAIN_FIELD: self.text(source.get("key"))} for source in sources]
