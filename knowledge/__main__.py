"""Command line: `python -m knowledge build|search|show|department|nlp` (each has --help)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from knowledge import nlp
from knowledge.build import build, source_files
from knowledge.errors import KnowledgeError
from knowledge.store import open_kb

SNIPPET_LENGTH = 60


def _build(args: argparse.Namespace) -> int:
    sources = args.sources or source_files()
    path = build(sources=sources, db_path=args.db)
    kb = open_kb(path)
    counts = {kind: len(kb.entries(kind=kind)) for kind in ("item", "safeguard", "target")}
    print(
        f"已生成知识库 {path}：{len(kb.documents())} 个文件，{counts['item']} 条任务，"
        f"{counts['safeguard']} 项保障措施，{counts['target']} 个目标，"
        f"{len(kb.departments())} 个责任部门"
    )
    return 0


def _search(args: argparse.Namespace) -> int:
    hits = open_kb(args.db).search(args.query, limit=args.limit)
    if not hits:
        print(f"没有找到与“{args.query}”相关的内容。")
        return 1
    for hit in hits:
        e = hit.entry
        snippet = e.text if len(e.text) <= SNIPPET_LENGTH else e.text[:SNIPPET_LENGTH] + "…"
        print(f"[{e.ref}] {e.title}（{e.document}，得分 {hit.score:.2f}）")
        print(f"    {snippet}")
        if e.departments:
            print(f"    责任部门：{'、'.join(e.departments)}")
    return 0


def _show(args: argparse.Namespace) -> int:
    kb = open_kb(args.db)
    what = args.what.strip()
    entry = kb.item(int(what), document=args.document) if what.isdigit() else None
    if entry is None:
        key = what if "#" in what else f"{kb.document(args.document).number}#{what}"
        entry = kb.entry(key)
    print(f"{entry.document} {entry.ref} {entry.title}")
    print(entry.text)
    if entry.departments:
        print(f"责任部门：{'、'.join(entry.departments)}")
    if entry.tags:
        print(f"涉及：{'、'.join(f'{value}（{name}）' for value, name in entry.named_tags())}")
    plain = kb.plain_summary(entry.key)
    if plain is not None:
        print("易读：\n  " + "\n  ".join(plain.lines))
    return 0


def _department(args: argparse.Namespace) -> int:
    kb = open_kb(args.db)
    department = kb.department(args.name)
    print(department.name)
    if department.aliases:
        print(f"也叫：{'、'.join(department.aliases)}")
    print(f"负责 {len(department.keys)} 项：")
    for key in department.keys:
        entry = kb.entry(key)
        print(f"  [{entry.ref}] {entry.title}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge",
        description="助残就业政策知识库：生成、检索、查看 (build, search and read the plan).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def add(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        if name != "nlp":
            sub.add_argument(
                "--db",
                default=None,
                help="knowledge base path (default: $KNOWLEDGE_DB or build/knowledge.db)",
            )
        return sub

    build = add("build", "parse knowledge/sources/*.md and build the knowledge base", _build)
    build.add_argument("sources", nargs="*", help="plan sources (default: knowledge/sources/*.md)")

    search = add("search", "search the plan, e.g. 盲人按摩考试", _search)
    search.add_argument("query", help="a question or keywords in Chinese")
    search.add_argument("--limit", type=int, default=5, help="how many results (default 5)")

    show = add(
        "show", "print one entry: an item number (13), 三（二）, target-2500 or a key", _show
    )
    show.add_argument("what", help="item number, key suffix or full key")
    show.add_argument("--document", default=None, help="document number (default: the first)")

    department = add(
        "department", "what a department is responsible for (aliases accepted)", _department
    )
    department.add_argument("name", help="department name or alias, e.g. 卫健委")

    nlp.add_command_arguments(add("nlp", nlp.COMMAND_HELP, nlp.run_command))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KnowledgeError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
