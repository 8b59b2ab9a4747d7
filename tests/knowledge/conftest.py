"""Fixtures of the knowledge tests: the plan with a second document (the plan alone, `kb` and
`kb_path`, is tests/conftest.py's session knowledge base)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.build import build
from knowledge.store import KnowledgeBase, open_kb

FIXTURES = Path(__file__).parent / "fixtures"
PLAN_NUMBER = "黄政办发〔2022〕60号"
SECOND_NUMBER = "黄残联发〔2023〕7号"


@pytest.fixture(scope="session")
def multi_kb(tmp_path_factory, plan_source) -> KnowledgeBase:
    """The plan plus a small second document written for the tests."""
    path = build(
        sources=[plan_source, FIXTURES / "second-plan.md"],
        db_path=tmp_path_factory.mktemp("multi") / "knowledge.db",
    )
    return open_kb(path)
