"""The bridge's view of the gateway settings (built from app.state.settings on every request,
so tests can swap them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.chat.ids import WECHAT_USER, keyed_digest
from bot.settings import DEFAULT_RETENTION_DAYS, Settings


@dataclass(frozen=True)
class WeChatConfig:
    token: str
    app_id: str
    encoding_aes_key: str
    app_secret: str
    api_base: str
    secret_key: str
    knowledge_db: Path | None = None  # for the plan's title in the welcome
    retention_days: int = DEFAULT_RETENTION_DAYS  # said in the welcome

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatConfig:
        # Stripped: a value pasted into .env with a trailing space would fail every signature.
        return cls(
            token=settings.wechat_token.strip(),
            app_id=settings.wechat_app_id.strip(),
            encoding_aes_key=settings.wechat_encoding_aes_key.strip(),
            app_secret=settings.wechat_app_secret.strip(),
            api_base=settings.wechat_api_base,
            secret_key=settings.secret_key,
            knowledge_db=settings.knowledge_db,
            retention_days=settings.retention_days,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def plaintext_allowed(self) -> bool:
        """明文模式 only while no EncodingAESKey is configured: once it is, every message must be
        encrypted, so a captured query string cannot carry a forged plaintext body."""
        return not self.encoding_aes_key

    @property
    def safe_mode_ready(self) -> bool:
        return bool(self.app_id and self.encoding_aes_key)

    @property
    def customer_service_ready(self) -> bool:
        return bool(self.app_id and self.app_secret)

    def conversation_id(self, openid: str) -> str:
        """`wechat:<hmac>`: stable per user, and the raw OpenID never reaches the log."""
        return f"wechat:{keyed_digest(self.secret_key, WECHAT_USER, openid)}"
