"""The bridge's view of the gateway settings (read on every request, so tests can swap them)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

DEFAULT_API_BASE = "https://api.weixin.qq.com"


def _read(settings, name: str) -> str:
    # G's settings object may spell fields upper- or lower-case and may wrap secrets in SecretStr.
    value = getattr(settings, name, None)
    if value is None:
        value = getattr(settings, name.lower(), None)
    if value is not None and hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return str(value or "").strip()


@dataclass(frozen=True)
class WeChatConfig:
    token: str
    app_id: str
    encoding_aes_key: str
    app_secret: str
    api_base: str
    secret_key: str

    @classmethod
    def from_settings(cls, settings) -> WeChatConfig:
        return cls(
            token=_read(settings, "WECHAT_TOKEN"),
            app_id=_read(settings, "WECHAT_APP_ID"),
            encoding_aes_key=_read(settings, "WECHAT_ENCODING_AES_KEY"),
            app_secret=_read(settings, "WECHAT_APP_SECRET"),
            api_base=(_read(settings, "WECHAT_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
            secret_key=_read(settings, "SECRET_KEY"),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def safe_mode_ready(self) -> bool:
        return bool(self.app_id and self.encoding_aes_key)

    @property
    def customer_service_ready(self) -> bool:
        return bool(self.app_id and self.app_secret)

    def conversation_id(self, openid: str) -> str:
        """`wechat:<hmac>`: stable per user, and the raw OpenID never reaches the log."""
        digest = hmac.new(self.secret_key.encode(), openid.encode(), hashlib.sha256).hexdigest()
        return f"wechat:{digest[:32]}"
