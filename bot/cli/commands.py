"""Command line: `python -m bot run` (the whole assistant), `set-password`, the operator's
`purge`, `forget` and `backup`, and the review loop's `reviewed export` and `retrain`."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.chat.conversation_log import ConversationLog
from bot.chat.log_schema import database_target, shown_target
from bot.chat.retention import ForgetError, forget, purge
from bot.cli.backup import BackupFailed, backup
from bot.cli.launcher import Launcher
from bot.console.password_store import PasswordStore
from bot.console.passwords import WeakPassword, set_password
from bot.settings import get_settings


def _settings():
    try:
        return get_settings()
    except ValidationError as exc:
        print(f"配置有误（.env 或环境变量）：\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    return Launcher(_settings(), gateway_only=args.gateway_only).run()


def cmd_set_password(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("新的工作台密码：")
        if getpass.getpass("再输入一次：") != password:
            print("两次输入不一样，没有修改。", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    # An operator at the command line can wait for a busy database longer than a chat can.
    store = PasswordStore.from_settings(settings)
    try:
        set_password(store, password)
    except WeakPassword as exc:
        print(f"没有修改：{exc}。", file=sys.stderr)
        return 1
    finally:
        store.close()
    where = shown_target(database_target(settings))
    print(f"工作台密码已设置（保存在 {where}）。已登录的会话需要重新登录。")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    settings = _settings()
    deleted = purge(settings)
    print(f"已删除保存超过 {settings.retention_days} 天的对话：")
    return _report(deleted)


def cmd_forget(args: argparse.Namespace) -> int:
    try:
        found, deleted = forget(_settings(), args.sender)
    except ForgetError as exc:
        print(f"没有删除：{exc}。", file=sys.stderr)
        return 1
    if not any(item.rows for item in deleted):
        print(f"没有找到这段对话（{args.sender}），什么也没有删除。", file=sys.stderr)
        return 1
    print(f"已删除这段对话（工作台里的编号 {found.log_sender}）：")
    code = _report(deleted)
    if found.turns and not found.rasa_senders:
        print(
            "  这段对话是在对话记录保存 Rasa 编号之前的，它在 Rasa 里的对话状态找不到，"
            "会在保存期满时自动删除。"
        )
    return code


def _report(deleted) -> int:
    if not deleted:
        print("  没有找到对话记录或 Rasa 对话状态的文件。")
    for item in deleted:
        print(f"  {item.line()}")
    return 0 if all(item.clean for item in deleted) else 1


def cmd_backup(args: argparse.Namespace) -> int:
    try:
        copied = backup(_settings(), args.dest)
    except BackupFailed as exc:
        print(f"备份失败：{exc}", file=sys.stderr)
        return 1
    if _settings().database_url:
        print("对话记录在 PostgreSQL（DATABASE_URL）里：请用 pg_dump 备份，见 docs/deploy.md。")
    for item in copied:
        if item.copy is None:
            print(f"{item.what}：{item.source} 不存在，没有备份。")
        else:
            print(f"{item.what}：{item.source} → {item.copy}（{_size(item.size)}）")
    return 0 if any(item.copy for item in copied) else 1


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{max(1, round(size / 1e3))} KB"


def cmd_reviewed_export(args: argparse.Namespace) -> int:
    # Here, not at the top: the review loop brings knowledge.answering, 17 MB and 0.3 s more
    # for the long-lived supervisor of `python -m bot run` (53 MB without it).
    from bot.console.reviewed import TRAINING_DIR, export

    settings = _settings()
    log = ConversationLog(database_target(settings), settings.secret_key, busy_timeout=5)
    try:
        done = export(log, args.out or TRAINING_DIR)
    finally:
        log.close()
    if done.train_path:
        by_intent = "、".join(f"{intent} {n}" for intent, n in sorted(done.trained.items()))
        print(f"训练例句 {done.examples} 条 → {done.train_path}（{by_intent}）")
    else:
        print("没有可以训练的标注问题；没有训练文件。")
    print(f"留出的真实问题 {done.held_back} 条 → {done.check_path}")
    if done.left_out:
        print(f"{len(done.left_out)} 条已在训练、开发或冻结测试集里，没有导出。")
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    # Here, not at the top: 17 MB and 0.3 s more for the `run` supervisor (knowledge.answering).
    from bot.cli.retrain import Run
    from bot.console.reviewed import TRAINING_DIR

    report = Run(
        _settings(),
        run_id=args.id,
        training_dir=args.training_dir or TRAINING_DIR,
        epochs=args.epochs,
        c_grid=[1.0] if args.quick_fit else None,
        epoch_fraction=args.epoch_fraction,
    ).run()
    print(f"报告：{_settings().retrain_dir / (report['id'] + '.json')}（用时 {report['seconds']:.0f} 秒）")
    return {"switched": 0, "kept": 3}.get(report["status"], 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="助残就业政策助手：网关、热线工作台和启动器"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    run = commands.add_parser(
        "run",
        help="start the action server, Rasa and the gateway; Ctrl-C stops them",
        description="Start the action server and Rasa (both on 127.0.0.1 only), then the "
        "gateway on GATEWAY_HOST:GATEWAY_PORT. Logs go to LOG_DIR. Ctrl-C or SIGTERM stops all.",
    )
    run.add_argument(
        "--gateway-only",
        action="store_true",
        help="start only the gateway (Rasa and the action server run elsewhere)",
    )
    run.set_defaults(func=cmd_run)

    set_password = commands.add_parser(
        "set-password",
        help="set the hotline console password (asked twice, or read from stdin)",
        description="Set the hotline console password, stored as a salted scrypt hash in "
        "CONVERSATION_DB. Signed-in sessions end.",
    )
    set_password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    set_password.set_defaults(func=cmd_set_password)

    purge = commands.add_parser(
        "purge",
        help="delete conversation text older than RETENTION_DAYS (the gateway does it daily)",
        description="Delete every turn older than RETENTION_DAYS from the conversation log "
        "(CONVERSATION_DB) and Rasa's tracker files (RASA_TRACKER_DB and the files beside it), "
        "so that the text is gone from the files too. Safe while the assistant runs.",
    )
    purge.set_defaults(func=cmd_purge)

    forget = commands.add_parser(
        "forget",
        help="delete one person's conversation from the log and Rasa's trackers",
        description="Delete one conversation everywhere: its turns in the conversation log "
        "and its events in Rasa's tracker files. The hotline console's conversation log has "
        "a button that does the same. Safe while the assistant runs.",
    )
    forget.add_argument(
        "sender",
        metavar="SENDER",
        help="the conversation's id as the hotline console shows it (the log page shows its "
        "first 8 characters, the CSV export all 32), or api:KEY for an API client that sent "
        '"sender": "KEY"',
    )
    forget.set_defaults(func=cmd_forget)

    backup = commands.add_parser(
        "backup",
        help="copy the conversation log and the knowledge base into a folder, while running",
        description="Write consistent copies of CONVERSATION_DB and KNOWLEDGE_DB into DEST "
        "with SQLite's online backup, while the assistant runs. To restore, stop the "
        "assistant and copy the files back to the paths in .env (see README).",
    )
    backup.add_argument("dest", metavar="DEST", type=Path, help="folder for the copies")
    backup.set_defaults(func=cmd_backup)

    reviewed = commands.add_parser(
        "reviewed",
        help="the questions hotline staff labelled on the console's review page",
        description="Questions labelled on the hotline console's review page (/console/review).",
    )
    reviewed_commands = reviewed.add_subparsers(dest="reviewed_command", required=True)
    reviewed_export = reviewed_commands.add_parser(
        "export",
        help="write the labelled questions as Rasa NLU examples and a held-back check set",
        description="Write the labelled questions as Rasa NLU examples (reviewed.yml, which "
        "make train includes when it exists) and the held-back share as the real-questions "
        "check set (reviewed_check.yml, never trained on). Questions already in the training "
        "data, the development set or the frozen test set are left out.",
    )
    reviewed_export.add_argument("--out", type=Path, help="folder (default var/training)")
    reviewed_export.set_defaults(func=cmd_reviewed_export)

    retrain = commands.add_parser(
        "retrain",
        help="train a candidate model; switch to it only if no score drops (exit 3: kept)",
        description="Export the labelled questions, train a candidate model and answer "
        "decision beside the running one, score both on the frozen test set and the held-back "
        "real questions, and switch the running assistant to the candidate (every Rasa server "
        "loads it, one at a time) only if the frozen test score drops by at most 3 questions and the real one by at most 1. "
        "Writes a report to RETRAIN_DIR. Exit 0: switched, 3: kept the running model, "
        "1: failed.",
    )
    retrain.add_argument(
        "--epochs", type=int, help="DIET epochs of the candidate (default: as in config.yml)"
    )
    retrain.add_argument(
        "--epoch-fraction",
        type=float,
        help="share of DIET's epochs the candidate is fine-tuned for (default 0.5)",
    )
    retrain.add_argument(
        "--quick-fit",
        action="store_true",
        help="fit the decision with one regularisation strength instead of choosing it",
    )
    retrain.add_argument(
        "--training-dir", type=Path, help="where to export the labels (default var/training)"
    )
    retrain.add_argument("--id", help="the report's id (the console names its runs)")
    retrain.set_defaults(func=cmd_retrain)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
