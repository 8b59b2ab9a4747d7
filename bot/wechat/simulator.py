"""Talk to /wechat the way WeChat's servers do, without WeChat.

    python -m bot.wechat.simulator "盲人按摩考试谁组织"
    python -m bot.wechat.simulator --voice "盲人按摩考试谁组织"          # a voice message with Recognition
    python -m bot.wechat.simulator --aes-key <43 chars> --app-id wx123 "…"  # safe mode (encrypt_type=aes)
    python -m bot.wechat.simulator --retries 3 "…"                          # the same MsgId three times
    python -m bot.wechat.simulator --event subscribe

It signs (and in safe mode encrypts) each request, posts it, and prints the reply as a phone
would show it. Defaults come from the gateway's own settings (environment or .env): WECHAT_TOKEN,
WECHAT_APP_ID, WECHAT_ENCODING_AES_KEY (safe mode whenever it is set, as the gateway then refuses
plaintext) and http://GATEWAY_HOST:GATEWAY_PORT/wechat.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sys
import time
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
import httpx
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.settings import Settings, get_settings
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


@dataclass
class Try:
    """What one delivery really got back."""

    status: int
    seconds: float
    text: str | None = None  # the reply a phone shows; None for `success` or an error
    error: str = ""

    def describe(self) -> str:
        if self.status != 200:
            return f"HTTP {self.status}（{self.seconds:.1f} 秒）：{self.error}"
        if self.text is None:
            return f"success（{self.seconds:.1f} 秒）：这次投递没有带回复，手机上不显示内容"
        return f"（{self.seconds:.1f} 秒）\n{self.text}"


async def _send(args, xml: str, http: httpx.AsyncClient) -> Try:
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
        return Try(response.status_code, took, error=response.text)
    text = read_reply(response.text, args.token, args.aes_key, args.app_id)
    return Try(200, took, text)


def report(tries: list[Try]) -> str:
    """Each try as it really went; a note only when no try brought an answer back."""
    lines = []
    for number, result in enumerate(tries, start=1):
        label = f"第 {number} 次投递" if len(tries) > 1 else "回复"
        lines.append(f"—— {label} ——\n{result.describe()}\n")
    if all(t.status == 200 and t.text is None for t in tries):
        lines.append(
            "（没有一次投递带回回答。若是问题的回答超过了 5 秒，网关会通过客服消息发送，"
            "或在用户下一条消息的回复前补上；关注/取消关注等事件本来就可能没有回复。）\n"
        )
    return "\n".join(lines)


def message_for(args) -> str:
    if args.event:
        return message_xml(kind="event", event=args.event)
    if args.voice:
        return message_xml(kind="voice", recognition=args.text)
    if args.kind != "text":
        return message_xml(kind=args.kind)
    return message_xml(args.text)


async def _main(args) -> int:
    xml = message_for(args)
    async with httpx.AsyncClient(timeout=10) as http:
        # Retries reuse the very same message (same MsgId), as WeChat's do.
        tries = await asyncio.gather(*(_send(args, xml, http) for _ in range(max(args.retries, 1))))
    print(report(list(tries)))
    return 0


def _gateway_url(settings: Settings | None) -> str:
    fields = Settings.__fields__
    host = settings.gateway_host if settings else fields["gateway_host"].default
    port = settings.gateway_port if settings else fields["gateway_port"].default
    if host in ("", "0.0.0.0", "::"):  # listening everywhere: talk to it locally
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/wechat"


def build_parser(settings: Settings | None) -> argparse.ArgumentParser:
    """Options with defaults from the gateway's settings (None: settings could not be read)."""
    token = settings.wechat_token if settings else ""
    app_id = settings.wechat_app_id if settings else ""
    aes_key = settings.wechat_encoding_aes_key if settings else ""
    url = _gateway_url(settings)
    parser = argparse.ArgumentParser(
        prog="python -m bot.wechat.simulator", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "text",
        nargs="?",
        default="盲人按摩考试谁组织",
        help="用户说的话 (what the user says; default: %(default)s)",
    )
    parser.add_argument(
        "--url",
        default=url,
        help="网关的微信回调地址 (the gateway's /wechat URL; default from GATEWAY_HOST and "
        "GATEWAY_PORT: %(default)s)",
    )
    parser.add_argument(
        "--token",
        default=token,
        help="令牌 Token, as in 服务器配置 (default: WECHAT_TOKEN from the environment or .env)",
    )
    parser.add_argument(
        "--aes-key",
        default=aes_key,
        help="消息加解密密钥 EncodingAESKey, 43 characters: send in safe mode "
        "(default: WECHAT_ENCODING_AES_KEY from the environment or .env)",
    )
    parser.add_argument(
        "--app-id",
        default=app_id,
        help="开发者ID AppID, needed for safe mode (default: WECHAT_APP_ID from the environment "
        "or .env)",
    )
    parser.add_argument(
        "--plaintext",
        action="store_true",
        help="明文模式: ignore the AES key and send unencrypted (the gateway refuses this with "
        "403 while WECHAT_ENCODING_AES_KEY is set)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="同一条消息投递 N 次 (send the same MsgId N times at once, like WeChat's retries)",
    )
    parser.add_argument(
        "--voice",
        action="store_true",
        help="作为语音消息发送 (send TEXT as a voice message's Recognition)",
    )
    parser.add_argument(
        "--kind",
        default="text",
        choices=["text", "image", "video", "location", "link"],
        help="消息类型 (message type; non-text types carry no question)",
    )
    parser.add_argument(
        "--event", default="", help="发送事件 (send an event instead, e.g. subscribe)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        settings: Settings | None = get_settings()
    except (ValueError, ImportError) as error:  # e.g. a bad value in .env
        print(f"settings not readable, no defaults from them: {error}", file=sys.stderr)
        settings = None
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    if args.plaintext:
        args.aes_key = ""
    if not args.token:
        parser.error("no token: pass --token or set WECHAT_TOKEN (environment or .env)")
    if args.aes_key and not args.app_id:
        parser.error("safe mode needs --app-id (or WECHAT_APP_ID in the environment or .env)")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
