"""GET/POST /wechat: the official-account callback URL.

Every answer is `echostr`, `success`, well-formed reply XML, or a 4xx/503 with a short reason;
never a 500 (WeChat would show "该公众号暂时无法提供服务").
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from bot.deps import ChatServiceDep, SettingsDep, WeChatBridgeDep
from bot.wechat import protocol
from bot.wechat.config import WeChatConfig
from bot.wechat.xml_reply import text_reply_xml

log = logging.getLogger(__name__)

router = APIRouter()

OFF = "微信接入未开启：请在环境变量或 .env 中设置 WECHAT_TOKEN。(WeChat bridge is off: set WECHAT_TOKEN.)"
PLAINTEXT_OFF = (
    "forbidden: 已配置 WECHAT_ENCODING_AES_KEY，只接受安全模式（加密）消息。"
    "(Plaintext mode is refused while WECHAT_ENCODING_AES_KEY is set.)"
)
NO_AES = (
    "安全模式需要 WECHAT_APP_ID 和 WECHAT_ENCODING_AES_KEY。"
    "(Safe mode needs WECHAT_APP_ID and WECHAT_ENCODING_AES_KEY.)"
)


def _plain(text: str, status: int = 200) -> Response:
    return PlainTextResponse(text, status_code=status)


@router.get("/wechat", include_in_schema=False)
async def handshake(request: Request, settings: SettingsDep) -> Response:
    config = WeChatConfig.from_settings(settings)
    if not config.enabled:
        return _plain(OFF, 503)
    q = request.query_params
    if not protocol.signature_valid(
        config.token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", "")
    ):
        return _plain("forbidden", 403)
    return _plain(q.get("echostr", ""))


@router.post("/wechat", include_in_schema=False)
async def receive(
    request: Request,
    settings: SettingsDep,
    bridge: WeChatBridgeDep,
    chat_service: ChatServiceDep,
) -> Response:
    arrived = time.monotonic()
    config = WeChatConfig.from_settings(settings)
    if not config.enabled:
        return _plain(OFF, 503)
    q = request.query_params
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    safe_mode = q.get("encrypt_type", "").lower() == "aes"
    if safe_mode and not config.safe_mode_ready:
        return _plain(NO_AES, 503)
    # Check what can be checked before reading a byte of the body.
    if not safe_mode and not protocol.signature_valid(
        config.token, q.get("signature", ""), timestamp, nonce
    ):
        return _plain("forbidden", 403)
    if not safe_mode and not config.plaintext_allowed:
        return _plain(PLAINTEXT_OFF, 403)
    if not protocol.timestamp_fresh(timestamp):
        return _plain("forbidden: stale timestamp", 403)
    try:
        body = await protocol.read_capped_body(request)
        if safe_mode:
            inner = protocol.decrypt(
                body,
                token=config.token,
                aes_key=config.encoding_aes_key,
                app_id=config.app_id,
                msg_signature=q.get("msg_signature", ""),
                timestamp=timestamp,
                nonce=nonce,
            )
            message = protocol.parse_plain(inner)
        else:
            message = protocol.parse_plain(body)
    except protocol.TooLarge:
        return _plain("request body too large", 413)
    except protocol.Rejected:
        return _plain("forbidden", 403)
    except protocol.BadMessage as error:
        log.info("WeChat body refused: %s", error)
        return _plain("bad request", 400)

    # Both modes: a (timestamp, nonce, signature) seen before is accepted again only for the
    # same message (WeChat's retry, answered once by the deduper), never for another one.
    signed = q.get("msg_signature", "") if safe_mode else q.get("signature", "")
    if not await bridge.replay.check((timestamp, nonce, signed), protocol.message_key(message)):
        return _plain("forbidden: replayed signature", 403)

    try:
        text = await bridge.receive(
            message, config=config, chat_service=chat_service, arrived=arrived
        )
        if text is None:
            return _plain("success")
        xml = text_reply_xml(
            to_user=message.source or "", from_user=message.target or "", content=text
        )
        if safe_mode:
            xml = protocol.encrypt(
                xml,
                token=config.token,
                aes_key=config.encoding_aes_key,
                app_id=config.app_id,
                nonce=nonce,
                timestamp=str(int(time.time())),
            )
    except Exception:  # a 500 would make WeChat tell the user the account is broken
        log.exception("WeChat reply failed")
        return _plain("success")
    return Response(xml, media_type="application/xml")
