"""The project's own modules import each other without loops, and at the top.

The import graph of `bot/`, `actions/`, `knowledge/` and `rasa_plugins/` is read with `ast`,
imports inside functions included (a loop hidden in a function is still a loop). An import
inside a function is allowed only with its reason in a comment on the line above (or above the
group of imports it heads) or on the same line. `python -m tests.test_imports` lists them.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "actions", "knowledge", "rasa_plugins")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: Path
    line: int
    targets: tuple[str, ...]  # every module named, resolved (project or not)
    in_function: bool
    reason: str | None  # the comment that explains an import inside a function


def project_modules(root: Path = REPO_ROOT, packages=PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(module: str, path: Path) -> Iterator[Import]:
    source = path.read_text(encoding="utf-8")
    comments = _comments(source)
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node, in_function in _walk(tree, False):
        if isinstance(node, ast.Import):
            targets = tuple(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            targets = tuple(f"{base}.{alias.name}" for alias in node.names)
        else:
            continue
        reason = _reason(node.lineno, lines, comments) if in_function else None
        yield Import(module, path, node.lineno, targets, in_function, reason)


def _walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        yield child, in_function
        yield from _walk(child, in_function or isinstance(child, _FUNCTIONS))


def _comments(source: str) -> dict[int, str]:
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string.lstrip("#").strip()
    return found


def _reason(line: int, lines: list[str], comments: dict[int, str]) -> str | None:
    """The comment on the import's line, or above the run of import lines it belongs to."""
    if _says_something(comments.get(line)):
        return comments[line]
    above = line - 1
    while above >= 1 and lines[above - 1].lstrip().startswith(("import ", "from ")):
        above -= 1
    block = []
    while above >= 1 and lines[above - 1].lstrip().startswith("#"):
        block.insert(0, comments[above])
        above -= 1
    text = " ".join(block)
    return text if _says_something(text) else None


def _says_something(comment: str | None) -> bool:
    """A reason, not a linter directive alone."""
    if not comment:
        return False
    return not comment.lower().startswith(("noqa", "type: ignore", "pragma"))


def all_imports(modules: dict[str, Path]) -> list[Import]:
    return [imp for name, path in modules.items() for imp in imports_of(name, path)]


@lru_cache(maxsize=1)
def project_imports() -> tuple[Import, ...]:
    """Every import of the project's modules, read once per test process."""
    return tuple(all_imports(project_modules()))


def graph(modules: dict[str, Path], imports: Iterable[Import] | None = None) -> dict[str, set[str]]:
    """Module -> the project modules it imports (the longest name that is a module)."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for imp in all_imports(modules) if imports is None else imports:
        for target in imp.targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != imp.module:
                edges[imp.module].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def describe(group: list[str], edges: dict[str, set[str]]) -> str:
    return "; ".join(f"{name} -> {', '.join(sorted(edges[name] & set(group)))}" for name in group)


# --- the checks -----------------------------------------------------------------------------


def test_the_project_has_no_import_loop():
    edges = graph(project_modules(), project_imports())
    assert edges["knowledge.answering.respond"], "the graph must see the project's imports"
    loops = cycles(edges)
    assert not loops, "import loops: " + " | ".join(describe(group, edges) for group in loops)


def test_every_import_inside_a_function_says_why():
    hidden = [imp for imp in project_imports() if imp.in_function]
    unexplained = [
        f"{imp.path.relative_to(REPO_ROOT)}:{imp.line}" for imp in hidden if imp.reason is None
    ]
    assert not unexplained, (
        "imports inside functions without a reason (a comment on the line above or the same "
        "line); move them to the top unless there is a measured reason: " + ", ".join(unexplained)
    )


def test_bot_never_imports_rasa():
    rasa = [
        f"{imp.path.relative_to(REPO_ROOT)}:{imp.line}"
        for imp in project_imports()
        if imp.module.split(".")[0] == "bot"
        and any(t.split(".")[0] in ("rasa", "rasa_sdk") for t in imp.targets)
    ]
    assert not rasa


def test_the_checks_see_a_loop_hidden_in_a_function(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import B\n\nA = 1\n")
    (package / "b.py").write_text(
        "def f():\n    from pkg.a import A\n\n    return A\n\n\n"
        "def g():\n    # a reason\n    import json\n    from . import a\n\n    return json, a\n"
    )
    modules = project_modules(tmp_path, ("pkg",))
    edges = graph(modules)
    assert edges["pkg.b"] == {"pkg.a"} and cycles(edges) == [["pkg.a", "pkg.b"]]
    hidden = {imp.line: imp.reason for imp in all_imports(modules) if imp.in_function}
    assert hidden == {2: None, 9: "a reason", 10: "a reason"}


if __name__ == "__main__":
    for imp in project_imports():
        if imp.in_function:
            where = f"{imp.path.relative_to(REPO_ROOT)}:{imp.line}"
            print(f"{where:32} {', '.join(imp.targets[:1])}  # {imp.reason or '(no reason)'}")
    sys.exit(0)
