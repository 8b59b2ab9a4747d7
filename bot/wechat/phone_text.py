"""Turn a ChatReply into plain text for a phone screen (and a screen reader), in parts.

WeChat shows no buttons in a passive reply, so buttons become numbered choices ("回复 1：…"),
and answers longer than one message are cut into parts fetched with "更多".
"""

from __future__ import annotations

from dataclasses import dataclass, field

MORE_HINT = "回复 更多 查看全文"
# About 600 Chinese characters per message is safe; the byte cap keeps emoji-heavy text
# (4 bytes a character) under WeChat's 2048-byte limit too.
MAX_CHARS = 600
MAX_BYTES = 1900
MAX_SOURCES_SHOWN = 3
# The numbered choice under an answer with easy-read summaries; it is answered in the bridge
# from the summaries kept with the answer (bot/wechat/answering.py), never sent to Rasa.
SIMPLER = "说简单点"
SIMPLER_INTRO = "简单地说："
# Answers that list several entries (what a department does, candidates to choose from): the
# departments of the entries listed are not the answer's, so they get no 负责部门 line.
LISTING_KINDS = frozenset({"department", "candidates"})


@dataclass(frozen=True)
class Choice:
    title: str
    payload: str


@dataclass
class PhoneAnswer:
    text: str
    choices: list[Choice] = field(default_factory=list)
    plain: str = ""  # the cited entries' easy-read summaries, for 说简单点 ("" if none)


def _get(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def phone_answer(chat_reply) -> PhoneAnswer:
    """The answer, its 依据 and departments, then the buttons as numbered choices."""
    texts: list[str] = []
    choices: list[Choice] = []
    for message in _get(chat_reply, "replies", None) or []:
        text = (_get(message, "text") or "").strip()
        if text:
            texts.append(text)
        for button in _get(message, "buttons", None) or []:
            title, payload = _get(button, "title") or "", _get(button, "payload") or ""
            if title and payload:
                choices.append(Choice(title=str(title), payload=str(payload)))
    body = "\n\n".join(texts)
    blocks = [body] if body else []
    blocks += _source_lines(
        _get(chat_reply, "sources", None) or [], already=body, kind=_get(chat_reply, "kind")
    )
    plain = plain_text(_get(chat_reply, "sources", None) or [])
    if plain:
        choices.append(Choice(title=SIMPLER, payload=SIMPLER))
    if choices:
        blocks.append(numbered(choices))
    return PhoneAnswer(text="\n\n".join(blocks), choices=choices, plain=plain)


def plain_text(sources: list) -> str:
    """简单地说： and the easy-read summary of each cited entry that has one; with several,
    each under its reference."""
    shown = [s for s in sources if isinstance(_get(s, "plain"), str) and _get(s, "plain").strip()]
    if not shown:
        return ""
    if len(shown) == 1:
        return f"{SIMPLER_INTRO}\n{_get(shown[0], 'plain').strip()}"
    blocks = [
        f"{_get(s, 'ref') or _get(s, 'title') or ''}：\n{_get(s, 'plain').strip()}" for s in shown
    ]
    return SIMPLER_INTRO + "\n" + "\n\n".join(blocks)


def _source_lines(sources: list, already: str, kind: str | None = None) -> list[str]:
    lines: list[str] = []
    shown = sources[:MAX_SOURCES_SHOWN]
    if shown and "依据" not in already:
        refs = [
            f"{_get(s, 'document', '')} {_get(s, 'ref', '')}"
            + (f"「{_get(s, 'title')}」" if _get(s, "title") else "")
            for s in shown
        ]
        lines.append("依据：" + "；".join(r.strip() for r in refs))
    # Only an answer citing one entry gets that entry's departments, and only when its text
    # has no 负责部门 line of its own: under "市人社局管什么" the departments of the items it
    # lists would read as if they were 人社局's duties.
    single = len(sources) == 1 and kind not in LISTING_KINDS
    departments = list(dict.fromkeys(_get(sources[0], "departments", None) or [])) if single else []
    if departments and "负责部门" not in already:
        lines.append("负责部门：" + "、".join(departments))
    return ["\n".join(lines)] if lines else []


def numbered(choices: list[Choice]) -> str:
    return "\n".join(f"回复 {i}：{choice.title}" for i, choice in enumerate(choices, start=1))


def paginate(text: str) -> list[str]:
    """Cut text into parts that each fit one message; all but the last end with MORE_HINT."""
    text = text.strip()
    suffix = "\n\n" + MORE_HINT
    parts: list[str] = []
    while not _fits(text):
        cut = _cut_point(text, MAX_CHARS - len(suffix), MAX_BYTES - len(suffix.encode()))
        parts.append(text[:cut].rstrip() + suffix)
        text = text[cut:].lstrip()
    parts.append(text)
    return parts


def _fits(text: str) -> bool:
    return len(text) <= MAX_CHARS and len(text.encode("utf-8", "replace")) <= MAX_BYTES


def _cut_point(text: str, max_chars: int, max_bytes: int) -> int:
    end = min(len(text), max_chars)
    while end > 1 and len(text[:end].encode("utf-8", "replace")) > max_bytes:
        end -= max(1, (len(text[:end].encode("utf-8", "replace")) - max_bytes) // 4)
    window = text[:end]
    # Prefer a paragraph break, then a sentence end, as long as the part stays reasonably full.
    for marks in ("\n", "。！？；!?;"):
        best = max(window.rfind(m) for m in marks)
        if best >= end // 2:
            return best + 1
    return end


@dataclass
class Outcome:
    """What one WeChat message gets: an answer (None: nothing, reply `success`), and whether it is
    already one part of an earlier answer (shown as is, not cut again)."""

    answer: PhoneAnswer | None
    is_page: bool = False
