"""No module of the project is over 400 lines without its reason written at its top.

A long module is a place a newcomer cannot take in at once; when one stays long, its docstring
says why ("Over 400 lines: …"), so the choice is visible and can be argued with.
"""

from __future__ import annotations

import ast

import pytest

from tests.test_imports import project_modules

LIMIT = 400
REASON = "Over 400 lines:"


def _long_modules() -> list[tuple[str, int, str]]:
    found = []
    for module, path in project_modules().items():
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n") + 1
        if lines > LIMIT:
            found.append((module, lines, ast.get_docstring(ast.parse(source)) or ""))
    return found


def test_the_check_sees_the_long_modules():
    # The reader of the plan is long for its reason: if this fails, the check reads nothing.
    assert any(module == "knowledge.parser" for module, _, _ in _long_modules())


@pytest.mark.parametrize("module, lines, docstring", _long_modules(), ids=lambda v: str(v)[:40])
def test_a_long_module_says_why(module, lines, docstring):
    assert REASON in docstring, f"{module} has {lines} lines: split it or say why at its top"
