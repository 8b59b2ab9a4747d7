"""Settings of the gateway and the launcher: one object per process, from the environment and .env.

Every field is documented in `.env.example` (a test checks it). Relative paths are taken from
the repository root, so the launcher, the tests and `uvicorn` agree wherever they are started.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseSettings, root_validator, validator

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-secret-change-me"
DEVELOPMENT = "development"


class Settings(BaseSettings):
    app_env: str = DEVELOPMENT
    secret_key: str = DEFAULT_SECRET_KEY
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    rasa_url: str = "http://127.0.0.1:5005"
    action_server_url: str = "http://127.0.0.1:5055"
    rasa_timeout: float = 2.5
    knowledge_db: Path = Path("build/knowledge.db")
    conversation_db: Path = Path("var/conversations.db")
    log_dir: Path = Path("var/logs")
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_encoding_aes_key: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"

    class Config:
        env_file = REPO_ROOT / ".env"
        env_file_encoding = "utf-8"

    @validator("secret_key")
    def _empty_means_default(cls, value: str) -> str:
        # `SECRET_KEY=` copied from .env.example means "not set".
        return value or DEFAULT_SECRET_KEY

    @validator("knowledge_db", "conversation_db", "log_dir")
    def _from_repo_root(cls, value: Path) -> Path:
        return value if value.is_absolute() else REPO_ROOT / value

    @validator("rasa_url", "action_server_url", "wechat_api_base")
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @validator("rasa_timeout")
    def _answer_within_three_seconds(cls, value: float) -> float:
        # The user must get a reply (real or fallback) within 3 s; leave room for our own work.
        if not 0 < value <= 2.8:
            raise ValueError("RASA_TIMEOUT must be between 0 and 2.8 seconds")
        return value

    @root_validator(skip_on_failure=True)
    def _refuse_default_secret(cls, values: dict) -> dict:
        if values.get("app_env") != DEVELOPMENT:
            secret = values.get("secret_key") or ""
            if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 32 characters "
                    "when APP_ENV is not development "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return values

    @property
    def is_development(self) -> bool:
        return self.app_env == DEVELOPMENT


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
