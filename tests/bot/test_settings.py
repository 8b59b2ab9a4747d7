"""Settings: refuse default secrets outside development; every field documented in .env.example."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from bot.settings import DEFAULT_SECRET_KEY, REPO_ROOT, Settings

STRONG = "k" * 40


@pytest.mark.parametrize("secret", [None, "", DEFAULT_SECRET_KEY, "short-secret"])
def test_weak_or_default_secret_is_refused_outside_development(secret):
    kwargs = {} if secret is None else {"secret_key": secret}
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, app_env="production", **kwargs)


def test_strong_secret_is_accepted_in_production():
    settings = Settings(_env_file=None, app_env="production", secret_key=STRONG)
    assert settings.secret_key == STRONG and settings.app_env == "production"


def test_development_runs_without_a_secret():
    assert Settings(_env_file=None, app_env="development").secret_key == DEFAULT_SECRET_KEY


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("GATEWAY_PORT", "18055")
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:15005/")
    monkeypatch.setenv("CONVERSATION_DB", "var/elsewhere.db")
    settings = Settings(_env_file=None)
    assert settings.gateway_port == 18055
    assert settings.rasa_url == "http://127.0.0.1:15005"
    assert settings.conversation_db == REPO_ROOT / "var" / "elsewhere.db"


def test_rasa_timeout_keeps_the_three_second_promise():
    with pytest.raises(ValidationError):
        Settings(_env_file=None, rasa_timeout=5)
    # 2.5 s let the slow-Rasa fallback arrive after 2.7 s on a busy two-core machine.
    assert Settings(_env_file=None).rasa_timeout == 2.0


def test_env_example_documents_every_setting():
    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    fields = {name.upper() for name in Settings.__fields__}
    assert fields == documented
    for name in fields:
        # each variable has a comment above it (its own or its group's)
        before = text.split(f"\n{name}=", 1)[0]
        assert before.rstrip().splitlines()[-1].startswith(("#", "WECHAT_", "GATEWAY_")), name


def test_dotenv_file_is_read_below_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("KNOWLEDGE_DB", raising=False)
    monkeypatch.setenv("GATEWAY_PORT", "18077")
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\n\nexport KNOWLEDGE_DB=build/other.db  # where the KB is\n"
        "GATEWAY_PORT=9999\nRASA_URL='http://127.0.0.1:15099/'\nSECRET_KEY=\n",
        encoding="utf-8",
    )
    settings = Settings(_env_file=dotenv)
    assert settings.knowledge_db == REPO_ROOT / "build" / "other.db"
    assert settings.gateway_port == 18077  # the environment wins over .env
    assert settings.rasa_url == "http://127.0.0.1:15099"
    assert settings.secret_key == DEFAULT_SECRET_KEY
    assert Settings(_env_file=tmp_path / "missing.env").gateway_port == 18077
