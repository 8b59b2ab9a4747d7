"""`python -m bot <command>`; see bot/cli/commands.py."""

import sys

from bot.cli.commands import main

sys.exit(main())
