"""Talk to /wechat the way WeChat's servers do, without WeChat.

    python -m bot.wechat_sim "盲人按摩考试怎么报名"
    python -m bot.wechat_sim --voice "盲人按摩考试怎么报名"          # a voice message with Recognition
    python -m bot.wechat_sim --aes-key <43 chars> --app-id wx123 "…"  # safe mode (encrypt_type=aes)
    python -m bot.wechat_sim --retries 3 "…"                          # the same MsgId three times
    python -m bot.wechat_sim --event subscribe

It signs (and in safe mode encrypts) each request, posts it, and prints the reply as a phone
would show it. Token and AppID default to WECHAT_TOKEN and WECHAT_APP_ID from the environment;
safe mode is used only when --aes-key (or WECHAT_SIM_AES_KEY) is given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
import httpx
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.wechat.xml_reply import cdata_safe

ACCOUNT = "gh_simulated_account"
USER = "o_simulated_user_openid"


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _cdata(name: str, value: str) -> str:
    return f"<{name}><![CDATA[{cdata_safe(value)}]]></{name}>"


def message_xml(
    text: str = "",
    *,
    kind: str = "text",
    openid: str = USER,
    msg_id: int | None = None,
    create_time: int | None = None,
    event: str = "",
    recognition: str | None = None,
) -> str:
    """An incoming message as WeChat sends it (fields of the official examples)."""
    fields = [
        _cdata("ToUserName", ACCOUNT),
        _cdata("FromUserName", openid),
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        _cdata("MsgType", kind),
    ]
    if kind == "text":
        fields.append(_cdata("Content", text))
    elif kind == "voice":
        fields += [_cdata("MediaId", "media_voice_1"), _cdata("Format", "amr")]
        if recognition is not None:
            fields.append(_cdata("Recognition", recognition))
    elif kind == "image":
        fields += [_cdata("PicUrl", "http://mmbiz.qpic.cn/x.jpg"), _cdata("MediaId", "media_img_1")]
    elif kind in ("video", "shortvideo"):
        fields += [_cdata("MediaId", "media_video_1"), _cdata("ThumbMediaId", "thumb_1")]
    elif kind == "location":
        fields += [
            "<Location_X>30.2</Location_X>",
            "<Location_Y>115.0</Location_Y>",
            "<Scale>15</Scale>",
            _cdata("Label", "湖北省黄石市"),
        ]
    elif kind == "link":
        fields += [
            _cdata("Title", "一篇文章"),
            _cdata("Description", "链接"),
            _cdata("Url", "http://example.com"),
        ]
    elif kind == "event":
        fields.append(_cdata("Event", event))
        fields.append(_cdata("EventKey", ""))
    if kind != "event":
        fields.append(f"<MsgId>{msg_id or random.randint(10**15, 10**16)}</MsgId>")
    return "<xml>" + "".join(fields) + "</xml>"


@dataclass
class SignedRequest:
    params: dict[str, str]
    body: bytes


def plaintext_request(
    xml: str, token: str, timestamp: str | None = None, nonce: str | None = None
) -> SignedRequest:
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(5)
    params = {
        "signature": sign(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": USER,
    }
    return SignedRequest(params=params, body=xml.encode("utf-8"))


def safe_mode_request(
    xml: str,
    token: str,
    aes_key: str,
    app_id: str,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> SignedRequest:
    """Encrypted like WeChat's safe mode: <Encrypt> in the body, msg_signature in the query."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(5)
    envelope = WeChatCrypto(token, aes_key, app_id).encrypt_message(xml, nonce, timestamp)
    encrypted = SafeET.fromstring(envelope).findtext("Encrypt")
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    params = {
        "signature": sign(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": USER,
        "encrypt_type": "aes",
        "msg_signature": sign(token, timestamp, nonce, encrypted),
    }
    return SignedRequest(params=params, body=body.encode("utf-8"))


def read_reply(body: str, token: str = "", aes_key: str = "", app_id: str = "") -> str | None:
    """The text a phone would show; None for `success`/empty (WeChat shows nothing)."""
    body = body.strip()
    if body in ("", "success"):
        return None
    root = SafeET.fromstring(body)
    if root.findtext("Encrypt") is not None:
        crypto = WeChatCrypto(token, aes_key, app_id)
        inner = crypto.decrypt_message(
            body, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce")
        )
        root = SafeET.fromstring(inner)
    return root.findtext("Content")


async def _send(args, xml: str, http: httpx.AsyncClient) -> str:
    if args.aes_key:
        request = safe_mode_request(xml, args.token, args.aes_key, args.app_id)
    else:
        request = plaintext_request(xml, args.token)
    started = time.monotonic()
    response = await http.post(
        args.url, params=request.params, content=request.body, headers={"Content-Type": "text/xml"}
    )
    took = time.monotonic() - started
    if response.status_code != 200:
        return f"HTTP {response.status_code}（{took:.1f} 秒）：{response.text}"
    text = read_reply(response.text, args.token, args.aes_key, args.app_id)
    if text is None:
        return f"（success，{took:.1f} 秒：手机上此刻不显示内容；回答稍后通过客服消息或下一条消息送达）"
    return f"（{took:.1f} 秒）\n{text}"


async def _main(args) -> int:
    if args.event:
        xml = message_xml(kind="event", event=args.event)
    elif args.voice:
        xml = message_xml(kind="voice", recognition=args.text)
    elif args.kind != "text":
        xml = message_xml(kind=args.kind)
    else:
        xml = message_xml(args.text)
    async with httpx.AsyncClient(timeout=10) as http:
        # Retries reuse the very same message (same MsgId), as WeChat's do.
        attempts = [_send(args, xml, http) for _ in range(max(args.retries, 1))]
        results = await asyncio.gather(*attempts)
    for number, result in enumerate(results, start=1):
        label = f"第 {number} 次投递" if len(results) > 1 else "回复"
        print(f"—— {label} ——\n{result}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.wechat_sim", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "text", nargs="?", default="盲人按摩考试怎么报名", help="what the user says"
    )
    parser.add_argument(
        "--url", default=os.environ.get("WECHAT_SIM_URL", "http://127.0.0.1:8000/wechat")
    )
    parser.add_argument("--token", default=os.environ.get("WECHAT_TOKEN", ""))
    parser.add_argument(
        "--aes-key",
        default=os.environ.get("WECHAT_SIM_AES_KEY", ""),
        help="EncodingAESKey (43 chars): send in safe mode",
    )
    parser.add_argument("--app-id", default=os.environ.get("WECHAT_APP_ID", ""))
    parser.add_argument(
        "--retries", type=int, default=1, help="send the same MsgId N times at once"
    )
    parser.add_argument(
        "--voice", action="store_true", help="send TEXT as a voice message's Recognition"
    )
    parser.add_argument(
        "--kind",
        default="text",
        choices=["text", "image", "video", "location", "link"],
        help="message type (non-text types carry no question)",
    )
    parser.add_argument("--event", default="", help="send an event instead, e.g. subscribe")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("no token: pass --token or set WECHAT_TOKEN")
    if args.aes_key and not args.app_id:
        parser.error("safe mode needs --app-id (or WECHAT_APP_ID)")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
