"""Shared fixtures: knowledge bases built from the real plan into throwaway folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.build import build, source_files
from knowledge.store import KnowledgeBase, open_kb

FIXTURES = Path(__file__).parent / "fixtures"
PLAN_NUMBER = "黄政办发〔2022〕60号"
SECOND_NUMBER = "黄残联发〔2023〕7号"


@pytest.fixture(scope="session")
def plan_source() -> Path:
    [path] = [p for p in source_files() if p.name == "hs-2022-60.md"]
    return path


@pytest.fixture(scope="session")
def kb_path(tmp_path_factory, plan_source) -> Path:
    """The real plan built once per session (real lexicon, segmenter and spaCy tagger)."""
    return build(sources=[plan_source], db_path=tmp_path_factory.mktemp("kb") / "knowledge.db")


@pytest.fixture(scope="session")
def kb(kb_path) -> KnowledgeBase:
    return open_kb(kb_path)


@pytest.fixture(scope="session")
def multi_kb(tmp_path_factory, plan_source) -> KnowledgeBase:
    """The plan plus a small second document written for the tests."""
    path = build(
        sources=[plan_source, FIXTURES / "second-plan.md"],
        db_path=tmp_path_factory.mktemp("multi") / "knowledge.db",
    )
    return open_kb(path)
