"""Reading the project's YAML files: one safe loader, libyaml's when PyYAML was built with it.

The pure-Python loader is about ten times slower; the review export and the tests read every
question set (a few thousand lines each), so the difference is seconds, not microseconds."""

from __future__ import annotations

from pathlib import Path

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_text(text: str):
    return yaml.load(text, Loader=SAFE_LOADER)


def load_yaml(path: Path | str):
    return load_yaml_text(Path(path).read_text(encoding="utf-8"))


def load_all_yaml(path: Path | str) -> list:
    return list(yaml.load_all(Path(path).read_text(encoding="utf-8"), Loader=SAFE_LOADER))
