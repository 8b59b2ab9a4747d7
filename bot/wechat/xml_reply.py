"""Passive text replies that are always well-formed XML, whatever the text.

wechatpy's `TextReply` puts values into CDATA unescaped: a `]]>` in an answer ends the section
early and WeChat shows "该公众号暂时无法提供服务". So every value is cleaned before it goes in.
"""

from __future__ import annotations

import re
import time

from wechatpy.replies import TextReply

# Characters XML 1.0 allows; everything else (most C0 controls, lone surrogates, U+FFFE/FFFF)
# makes a parser reject the whole reply.
_NOT_XML_CHAR = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe_text(text: str) -> str:
    """Text as a parser will read it back: newlines unified, XML-illegal characters dropped."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML_CHAR.sub("", text)


def cdata_safe(text: str) -> str:
    """Text safe inside <![CDATA[...]]>: a `]]>` is split across two sections."""
    return xml_safe_text(text).replace("]]>", "]]]]><![CDATA[>")


def text_reply_xml(*, to_user: str, from_user: str, content: str) -> str:
    reply = TextReply(
        target=cdata_safe(to_user),
        source=cdata_safe(from_user),
        content=cdata_safe(content),
        time=int(time.time()),
    )
    return reply.render()
