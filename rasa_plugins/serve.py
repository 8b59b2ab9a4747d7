"""`python -m rasa_plugins.serve ARGS…`: `rasa run ARGS…`, its HTTP API locked with the token
in the environment variable RASA_TOKEN.

A token on the command line (`--auth-token`) would be readable by every local user through
/proc/<pid>/cmdline; a process's environment is readable only by its owner.
"""

from __future__ import annotations

import os
import sys

from rasa.__main__ import main


def run() -> None:
    token = os.environ.get("RASA_TOKEN", "")
    sys.argv = ["rasa", "run", *sys.argv[1:], *([f"--auth-token={token}"] if token else [])]
    main()


if __name__ == "__main__":
    run()
