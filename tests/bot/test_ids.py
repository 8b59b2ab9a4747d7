"""The ids derived from conversation ids and OpenIDs: one recipe, values pinned (stored in logs)."""

from __future__ import annotations

from bot.api.chat_routes import public_handle
from bot.chat.conversation_log import ConversationLog, hash_sender
from bot.chat.ids import keyed_digest
from bot.chat.service import ChatService
from bot.wechat.config import WeChatConfig

SECRET = "test-secret-key-that-is-long-enough-000"
# HMAC-SHA256(SECRET, value) as the log has always stored it: rows written before the helper
# existed must still match their conversation.
LOG_SENDER_OF_WEB_ABC = "d9d6d0fff5b1ed76961d28e23ef0067c"
RASA_SENDER_OF_WEB_ABC = "1aad74374e2ce07668c7df53dd8f1c4f"


def test_keyed_digest_gives_the_values_already_stored():
    assert keyed_digest(SECRET, "", "web:abc") == LOG_SENDER_OF_WEB_ABC
    assert keyed_digest(SECRET, "rasa:", "web:abc") == RASA_SENDER_OF_WEB_ABC


def test_every_id_is_made_by_the_one_helper(tmp_path):
    assert hash_sender(SECRET, "web:abc") == LOG_SENDER_OF_WEB_ABC
    assert (
        ConversationLog(tmp_path / "c.db", SECRET).sender_hash("web:abc") == LOG_SENDER_OF_WEB_ABC
    )
    assert ChatService(None, None, SECRET).rasa_sender("web:abc") == RASA_SENDER_OF_WEB_ABC
    assert public_handle(SECRET, "web:abc") == "web-" + LOG_SENDER_OF_WEB_ABC[:12]
    config = WeChatConfig("t", "", "", "", "", SECRET)
    assert config.conversation_id("web:abc") == "wechat:" + LOG_SENDER_OF_WEB_ABC
