"""Starlette's StaticFiles, refusing a path it cannot even look up with 404 instead of a 500."""

from __future__ import annotations

import os

from starlette.staticfiles import StaticFiles as _StaticFiles

__all__ = ["StaticFiles"]


class StaticFiles(_StaticFiles):
    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        try:
            return super().lookup_path(path)
        except ValueError:  # a NUL byte (GET /%00): os.stat raises "embedded null byte"
            return "", None
