"""`python -m bot <command>`: the launcher that starts the whole assistant, and the other commands."""
