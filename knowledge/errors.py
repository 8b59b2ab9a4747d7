"""The knowledge package's own exceptions; callers map them to replies or exit codes."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base class for everything the knowledge package raises on purpose."""


class SourceParseError(KnowledgeError):
    """A plan source cannot be parsed; the message names the file and the line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        super().__init__(f"{self.path}:{line}: {message}")


class KnowledgeBaseMissing(KnowledgeError):
    """The knowledge base has not been built (run `python -m knowledge build`)."""


class NotFound(KnowledgeError, LookupError):
    """No entry, document or department by that name."""
