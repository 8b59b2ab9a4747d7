"""Command line: `python -m bot run` (the whole assistant) and `python -m bot set-password`."""

from __future__ import annotations

import argparse
import getpass
import sys

from pydantic import ValidationError


def _settings():
    from bot.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        print(f"配置有误（.env 或环境变量）：\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    from bot.launcher import Launcher

    return Launcher(_settings(), gateway_only=args.gateway_only).run()


def cmd_set_password(args: argparse.Namespace) -> int:
    from bot.console.passwords import WeakPassword, set_password
    from bot.conversation_log import ConversationLog

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
    log = ConversationLog(settings.conversation_db, settings.secret_key, busy_timeout=5)
    try:
        set_password(log, password)
    except WeakPassword as exc:
        print(f"没有修改：{exc}。", file=sys.stderr)
        return 1
    finally:
        log.close()
    print(f"工作台密码已设置（保存在 {settings.conversation_db}）。已登录的会话需要重新登录。")
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
