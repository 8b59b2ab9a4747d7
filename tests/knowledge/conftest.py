"""Fixtures of the knowledge tests: the plan with a second document (the plan alone, `kb` and
`kb_path`, is tests/conftest.py's session knowledge base)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.build import build
from knowledge.store import KnowledgeBase, open_kb
from tests.session_cache import cached_once, inputs_digest, knowledge_files

FIXTURES = Path(__file__).parent / "fixtures"
SECOND_PLAN = FIXTURES / "second-plan.md"
PLAN_NUMBER = "黄政办发〔2022〕60号"
SECOND_NUMBER = "黄残联发〔2023〕7号"


@pytest.fixture(scope="session")
def multi_kb(request, tmp_path_factory, plan_source) -> KnowledgeBase:
    """The plan plus a small second document written for the tests; built like `kb_path` (about
    8 s, most of it loading spaCy), so kept the same way (cached_once)."""
    path = cached_once(
        request,
        tmp_path_factory,
        "multi-knowledge.db",
        inputs_digest([*knowledge_files(), SECOND_PLAN, Path(__file__)]),
        lambda target: build(sources=[plan_source, SECOND_PLAN], db_path=target),
    )
    return open_kb(path)
