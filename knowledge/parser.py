"""Parse a published plan (markdown converted from the PDF) into documents, parts and entries.

The markdown heading levels are unreliable (`##`, `###`, `####` or none for the same level),
so structure comes from the Chinese numbering: `一、` parts, `（一）` actions or safeguards,
`1.` items. The PDF also breaks sentences across pages with a blank line; a paragraph that
does not start a new numbered element continues the element before it.

Over 400 lines: it is one reader of one grammar. Parts, actions, items, page-break
continuations and the header's facts are recognised in one pass over the paragraphs, each rule
using the state the others left; split up, every piece would need the whole reader's state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.errors import SourceParseError

NUMERALS = "一二三四五六七八九十"
PART_RE = re.compile(rf"^([{NUMERALS}]+)、\s*(.*)$")
SECTION_RE = re.compile(rf"^（([{NUMERALS}]+)）\s*(.*)$")
ITEM_RE = re.compile(r"^(\d+)\s*[.．、]\s*(.*)$")
DOC_NUMBER_RE = re.compile(r"^\S+〔\d{4}〕\d+号$")
DATE_RE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(印发)?$")
IMPLEMENTS_RE = re.compile(r"《([^》]+)》（([^（）]*〔\d{4}〕\d+号)）")
PERIOD_RE = re.compile(r"（(\d{4})\s*[-－—–]\s*(\d{4})年）")
RULE_RE = re.compile(r"^(-{3,}|\*{3,}|_{3,})$")
COPY_TO_RE = re.compile(r"^抄送[：:]\s*(.*)$")
DUTY_OPEN_RE = re.compile(r"[\[［【]\s*责任部门\s*[：:]")
DUTY_CLOSE = "]］】"
# PDF conversion leaves spaces inside Chinese headings ("三年行动 实施方案").
CJK_GAP_RE = re.compile(r"(?<=[\u4e00-\u9fff）》」”])\s+(?=[\u4e00-\u9fff（《「“])")
SENTENCE_END = "。；！？"
OPENERS = {"“": "”", "「": "」", "《": "》", "（": "）", "‘": "’", "『": "』"}

# The plan states its numeric targets in a few fixed phrasings.
TARGET_PATTERNS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"新增[^。；，]*?就业(\d+)人"), "target-{n}", "城乡新增残疾人就业"),
    (re.compile(r"(\d+)\s*名农村残疾人就业"), "target-rural-{n}", "帮扶带动农村残疾人就业"),
    (
        re.compile(r"完成对(\d+)名[^。；，]*?培训"),
        "target-training-{n}",
        "城乡残疾人职业技能和实用技术培训",
    ),
]


@dataclass
class Paragraph:
    """Consecutive non-blank source lines; `spans` maps text offsets back to line numbers."""

    line: int
    text: str
    heading: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)  # (offset, line)

    def line_at(self, offset: int) -> int:
        line = self.line
        for start, number in self.spans:
            if start <= offset:
                line = number
        return line

    def extend(self, other: Paragraph) -> None:
        """Join a page-break continuation: Chinese needs no separator."""
        base = len(self.text)
        self.spans.extend((base + start, number) for start, number in other.spans)
        self.text += other.text


@dataclass
class ParsedEntry:
    kind: str  # item | safeguard | target
    suffix: str  # key suffix after "#": "13", "三（二）", "target-2500"
    ref: str
    title: str
    text: str
    departments: list[str]
    part: str
    action: str | None  # ref of the action, e.g. 二（八）
    line: int
    item: int | None = None
    value: int | None = None
    origin: str | None = None  # targets: suffix of the item quoted, if any


@dataclass
class ParsedAction:
    ref: str
    part: str
    numeral: str
    heading: str
    line: int


@dataclass
class ParsedPart:
    numeral: str
    heading: str
    text: str
    line: int


@dataclass
class ParsedDocument:
    source: str
    number: str
    title: str
    notice_title: str
    issuer: str
    date: str
    implements: str | None
    implements_title: str | None
    period: str | None
    addressees: list[str]
    copy_to: list[str]
    parts: list[ParsedPart]
    actions: list[ParsedAction]
    entries: list[ParsedEntry]

    @property
    def items(self) -> list[ParsedEntry]:
        return [e for e in self.entries if e.kind == "item"]


def parse_file(path: str | Path) -> ParsedDocument:
    path = Path(path)
    return parse_text(path.read_text(encoding="utf-8"), source=str(path))


def parse_text(text: str, source: str = "<text>") -> ParsedDocument:
    return _Parser(source, _paragraphs(text)).parse()


# -- paragraphs ----------------------------------------------------------------------------


def _paragraphs(text: str) -> list[Paragraph]:
    paragraphs: list[Paragraph] = []
    current: Paragraph | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            current = None
            continue
        heading = line.startswith("#")
        if heading:
            line = line.lstrip("#").strip()
        if heading or RULE_RE.match(line):
            paragraphs.append(Paragraph(number, _tidy(line), heading, [(0, number)]))
            current = None
        elif current is None:
            current = Paragraph(number, line, False, [(0, number)])
            paragraphs.append(current)
        else:
            current.spans.append((len(current.text), number))
            current.text += line
    return paragraphs


def _tidy(heading: str) -> str:
    return CJK_GAP_RE.sub("", heading)


# -- helpers -------------------------------------------------------------------------------


def split_top_level(text: str, separators: str) -> list[str]:
    """Split on separators outside brackets: 各县（市、区）人民政府 stays one name."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(0, depth - 1)
        elif ch in separators and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def split_sentences(text: str) -> list[str]:
    """Split on 。；！？ but never inside quotes or brackets (“…。…” stays whole)."""
    sentences, stack, start = [], [], 0
    for i, ch in enumerate(text):
        if ch in OPENERS:
            stack.append(OPENERS[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
        elif ch in SENTENCE_END and not stack:
            sentences.append(text[start : i + 1])
            start = i + 1
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


def _iso_date(match: re.Match[str]) -> str:
    year, month, day = match.group(1), int(match.group(2)), int(match.group(3))
    return f"{year}-{month:02d}-{day:02d}"


def _ends_sentence(text: str) -> bool:
    return bool(text) and (text[-1] in SENTENCE_END or text[-1] in DUTY_CLOSE)


# -- the parser ----------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str, paragraphs: list[Paragraph]) -> None:
        self.source = source
        self.paragraphs = paragraphs

    def fail(self, line: int, message: str) -> SourceParseError:
        return SourceParseError(self.source, line, message)

    def parse(self) -> ParsedDocument:
        body_start = next((i for i, p in enumerate(self.paragraphs) if PART_RE.match(p.text)), None)
        if body_start is None:
            raise self.fail(1, "no numbered parts (一、…) found; is this a plan?")
        body_end = next(
            (
                i
                for i in range(body_start, len(self.paragraphs))
                if RULE_RE.match(self.paragraphs[i].text)
                or COPY_TO_RE.match(self.paragraphs[i].text)
            ),
            len(self.paragraphs),
        )
        header = self.paragraphs[:body_start]
        tail = self.paragraphs[body_end:]
        facts = self._header_facts(header, tail)
        parts, actions, entries = self._body(self.paragraphs[body_start:body_end])
        items = [e for e in entries if e.kind == "item"]
        if not items:
            line = self.paragraphs[body_start].line
            raise self.fail(line, "no numbered items (1. …) found in the plan")
        entries += self._targets(parts, items)
        return ParsedDocument(
            source=self.source, parts=parts, actions=actions, entries=entries, **facts
        )

    # -- header and tail -------------------------------------------------------------------
    def _header_facts(self, header: list[Paragraph], tail: list[Paragraph]) -> dict:
        number = next((p.text for p in header if DOC_NUMBER_RE.match(p.text)), None)
        if number is None:
            raise self.fail(1, "no document number (like 黄政办发〔2022〕60号) before the plan")
        notice = next((p for p in header if p.heading and "通知" in p.text), None)
        notice_title = notice.text if notice else ""
        addressees: list[str] = []
        if notice is not None:
            after = header[header.index(notice) + 1 :]
            if after and after[0].text.endswith(("：", ":")):
                addressees = split_top_level(after[0].text.rstrip("：:"), "，,")
        quoted = next((p for p in header if p.text.startswith("《")), None)
        title_match = re.match(r"《([^》]+)》", quoted.text) if quoted else None
        plan_heading = next(
            (p.text for p in header if p.heading and "通知" not in p.text and "文件" not in p.text),
            None,
        )
        title = title_match.group(1) if title_match else plan_heading or notice_title
        issuer, date = "", ""
        for i, p in enumerate(header):
            match = DATE_RE.match(p.text)
            if match and i > 0:
                issuer, date = header[i - 1].text, _iso_date(match)
                break
        implements = implements_title = None
        for p in header:
            match = IMPLEMENTS_RE.search(p.text)
            if match and not p.heading:
                implements_title, implements = match.group(1), match.group(2).strip()
                break
        period_match = PERIOD_RE.search(title) or PERIOD_RE.search(notice_title)
        period = f"{period_match.group(1)}-{period_match.group(2)}" if period_match else None
        copy_to, tail_issuer, tail_date = self._tail_facts(tail)
        return {
            "number": number,
            "title": title,
            "notice_title": notice_title,
            "issuer": issuer or tail_issuer,
            "date": date or tail_date,
            "implements": implements,
            "implements_title": implements_title,
            "period": period,
            "addressees": addressees,
            "copy_to": copy_to,
        }

    def _tail_facts(self, tail: list[Paragraph]) -> tuple[list[str], str, str]:
        copy_text, collecting = "", False
        issuer, date = "", ""
        for i, p in enumerate(tail):
            match = COPY_TO_RE.match(p.text)
            if match:
                copy_text, collecting = match.group(1), True
            elif RULE_RE.match(p.text) or p.heading:
                collecting = False
            elif collecting:
                copy_text += p.text
            date_match = DATE_RE.match(p.text)
            if date_match and i > 0 and not date:
                issuer, date = tail[i - 1].text, _iso_date(date_match)
        return split_top_level(copy_text, "，,；;、。"), issuer, date

    # -- body ------------------------------------------------------------------------------
    def _body(
        self, paragraphs: list[Paragraph]
    ) -> tuple[list[ParsedPart], list[ParsedAction], list[ParsedEntry]]:
        blocks = self._blocks(paragraphs)
        parts: list[ParsedPart] = []
        actions: list[ParsedAction] = []
        entries: list[ParsedEntry] = []
        part: ParsedPart | None = None
        action: ParsedAction | None = None
        seen: dict[str, int] = {}
        for kind, match, para in blocks:
            if kind == "part":
                heading, _, text = match.group(2).partition("。")
                part = ParsedPart(match.group(1), heading.strip(), text.strip(), para.line)
                parts.append(part)
                action = None
            elif kind == "text":
                if part is None or part.text:
                    raise self.fail(
                        para.line, f"text outside any numbered element: {para.text[:20]}"
                    )
                part.text = para.text
            elif kind == "action":
                assert part is not None
                ref = f"{part.numeral}（{match.group(1)}）"
                action = ParsedAction(ref, part.numeral, match.group(1), match.group(2), para.line)
                actions.append(action)
            elif kind == "safeguard":
                assert part is not None
                ref = f"{part.numeral}（{match.group(1)}）"
                heading, _, text = match.group(2).partition("。")
                entries.append(
                    ParsedEntry(
                        kind="safeguard",
                        suffix=ref,
                        ref=ref,
                        title=heading.strip(),
                        text=text.strip(),
                        departments=[],
                        part=part.numeral,
                        action=None,
                        line=para.line,
                    )
                )
                self._unique(seen, ref, para.line)
                action = None
            else:  # item
                assert part is not None
                number = int(match.group(1))
                body_offset = match.start(2)
                text, departments = self._duties(para, body_offset)
                ref = f"{action.ref if action else part.numeral}{number}"
                entries.append(
                    ParsedEntry(
                        kind="item",
                        suffix=str(number),
                        ref=ref,
                        title=action.heading if action else part.heading,
                        text=text,
                        departments=departments,
                        part=part.numeral,
                        action=action.ref if action else None,
                        line=para.line,
                        item=number,
                    )
                )
                self._unique(seen, str(number), para.line)
        return parts, actions, entries

    def _unique(self, seen: dict[str, int], suffix: str, line: int) -> None:
        if suffix in seen:
            raise self.fail(line, f"{suffix} appears twice (first on line {seen[suffix]})")
        seen[suffix] = line

    def _blocks(self, paragraphs: list[Paragraph]) -> list[tuple[str, re.Match[str], Paragraph]]:
        """Classify paragraphs and join page-break continuations into the element before."""
        blocks: list[tuple[str, re.Match[str], Paragraph]] = []
        last_item = 0
        for source_para in paragraphs:
            para = Paragraph(
                source_para.line, source_para.text, source_para.heading, list(source_para.spans)
            )
            kind, match = self._classify(para.text)
            previous = blocks[-1] if blocks else None
            if kind == "item" and previous is not None:
                number = int(match.group(1))
                # "…帮扶带动" / "1500名…" would look like item 1500: out of sequence after an
                # unfinished sentence means it is a continuation.
                if number != last_item + 1 and not _ends_sentence(previous[2].text):
                    kind = "text"
            if kind == "text" and previous is not None and previous[0] in ("item", "safeguard"):
                previous[2].extend(para)
                continue
            if kind == "text" and previous is not None and previous[0] == "text":
                previous[2].extend(para)
                continue
            if kind == "item":
                last_item = int(match.group(1))
            blocks.append((kind, match or _NO_MATCH, para))
        # Re-match after joining so groups cover the repaired text.
        result = []
        for kind, _, para in blocks:
            _, match = self._classify(para.text)
            result.append((kind, match or _NO_MATCH, para))
        return result

    @staticmethod
    def _classify(text: str) -> tuple[str, re.Match[str] | None]:
        if match := PART_RE.match(text):
            return "part", match
        if match := SECTION_RE.match(text):
            heading = match.group(2)
            return ("safeguard" if "。" in heading else "action"), match
        if match := ITEM_RE.match(text):
            return "item", match
        return "text", None

    def _duties(self, para: Paragraph, body_offset: int) -> tuple[str, list[str]]:
        """Split an item into its text and the departments of its [责任部门：…] list."""
        text = para.text
        opening = DUTY_OPEN_RE.search(text, body_offset)
        if opening is None:
            raise self.fail(para.line, "item has no [责任部门：…] list")
        close = min(
            (i for i in (text.find(c, opening.end()) for c in DUTY_CLOSE) if i >= 0),
            default=-1,
        )
        if close < 0:
            raise self.fail(para.line_at(opening.start()), "unclosed [责任部门： bracket")
        departments = split_top_level(text[opening.end() : close], "、，,")
        if not departments:
            raise self.fail(para.line_at(opening.start()), "empty [责任部门：] list")
        body = (text[body_offset : opening.start()] + text[close + 1 :]).strip()
        return body, departments

    # -- targets ---------------------------------------------------------------------------
    def _targets(self, parts: list[ParsedPart], items: list[ParsedEntry]) -> list[ParsedEntry]:
        found: list[ParsedEntry] = []
        places: list[tuple[str, str, list[str], str | None, int]] = [
            (p.text, p.numeral, [], None, p.line) for p in parts if p.text
        ] + [(i.text, i.ref, i.departments, i.suffix, i.line) for i in items]
        for text, ref, departments, origin, line in places:
            for sentence in split_sentences(text):
                for pattern, key, title in TARGET_PATTERNS:
                    match = pattern.search(sentence)
                    if match is None:
                        continue
                    value = int(match.group(1))
                    part = next((i.part for i in items if i.suffix == origin), ref)
                    found.append(
                        ParsedEntry(
                            kind="target",
                            suffix=key.format(n=value),
                            ref=ref,
                            title=title,
                            text=sentence,
                            departments=list(departments),
                            part=part,
                            action=None,
                            line=line,
                            value=value,
                            origin=origin,
                        )
                    )
        return found


_NO_MATCH = re.match("", "")
