"""rasa_plugins/serve.py hands the token from the environment to `rasa run`."""

from __future__ import annotations

import sys

import pytest
from rasa.__main__ import create_argument_parser

from rasa_plugins import serve


@pytest.mark.parametrize("token", ["abc_DEF-123", "-starts-with-a-dash"])
def test_the_token_reaches_rasa_even_when_it_starts_with_a_dash(monkeypatch, token):
    """secrets.token_urlsafe starts with "-" one time in 64: given as a separate argument,
    argparse took it for an option and Rasa refused to start."""
    seen = []
    monkeypatch.setenv("RASA_TOKEN", token)
    monkeypatch.setattr(sys, "argv", ["serve", "--enable-api", "-p", "5005"])
    monkeypatch.setattr(serve, "main", lambda: seen.append(list(sys.argv)))
    serve.run()
    [argv] = seen
    arguments = create_argument_parser().parse_args(argv[1:])
    assert arguments.auth_token == token and arguments.enable_api


def test_no_token_no_option(monkeypatch):
    seen = []
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    monkeypatch.setattr(sys, "argv", ["serve", "--enable-api"])
    monkeypatch.setattr(serve, "main", lambda: seen.append(list(sys.argv)))
    serve.run()
    assert seen == [["rasa", "run", "--enable-api"]]
