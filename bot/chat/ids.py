"""Keyed digests: the ids the gateway derives from a conversation id or an OpenID.

One helper for every such id, so they are all made the same way. The values are stored (the
conversation log's `sender` column) or kept by others (Rasa's trackers), so the recipe must not
change: HMAC-SHA256 with the secret key over `purpose + value`, hex, cut to `length` characters.
"""

from __future__ import annotations

import hashlib
import hmac

# The purposes in use. The log's sender, the web page's public handle and the WeChat
# conversation id were made without one (an empty purpose); keep it so existing rows match.
LOG_SENDER = ""
PUBLIC_HANDLE = ""
WECHAT_USER = ""
RASA_SENDER = "rasa:"


def keyed_digest(secret: str, purpose: str, value: str, length: int = 32) -> str:
    """HMAC-SHA256 of `purpose + value` under `secret`, the first `length` hex characters."""
    message = (purpose + value).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:length]
