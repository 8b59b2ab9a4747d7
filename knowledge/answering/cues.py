"""What the words of a question say on their face: references, amounts, phones, places.

These are facts of the language and of the domain (a reference like 二（八）13 names that
entry; 多少钱 asks for an amount; 武汉 is not Huangshi), not tuned constants. The answer decision
takes them as inputs beside what Rasa understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge import relevance
from knowledge.answering.question import Question
from knowledge.numbers import parse_number
from knowledge.ranking import generic_words
from knowledge.segment import segment
from knowledge.yaml_files import load_yaml

TOPICS_PATH = Path(__file__).resolve().parents[1] / "topics.yml"


@dataclass(frozen=True)
class Topics:
    candidates: dict[str, list[str]]
    subsidies: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    out_of_scope_places: list[str]
    home_places: list[str]
    out_of_scope_subjects: list[str]
    generic: frozenset[str]
    follow_up: frozenset[str]


@lru_cache(maxsize=1)
def topics() -> Topics:
    data = load_yaml(TOPICS_PATH)
    return Topics(
        candidates={k: [str(s) for s in v] for k, v in data["candidates"].items()},
        subsidies=data["subsidies"],
        targets=data["targets"],
        out_of_scope_places=[str(w) for w in data["out_of_scope_places"]],
        home_places=[str(w) for w in data["home_places"]],
        out_of_scope_subjects=[str(w) for w in data["out_of_scope_subjects"]],
        generic=generic_words(),
        follow_up=frozenset(str(w) for w in data["follow_up"]),
    )


# --- references to the plan ----------------------------------------------------------------

_NUM = r"([0-9]{1,2}|[一二三四五六七八九十两廿]{1,3})"
# 二（八）13, 二(八)第13条
_FULL_REF = re.compile(
    r"([一二三])\s*[（(]\s*([一二三四五六七八九十]{1,2})\s*[）)]\s*(?:第\s*)?([0-9]{1,2})(?![0-9])"
)
# 保障措施第三条, 第三部分的第二项, 保障措施（三）
_SAFEGUARD_PART_REF = re.compile(
    r"(?:保障措施|第三部分|第三大部分)\s*(?:里|中|的|里面|里的|中的)?\s*(?:第\s*)?[（(]?\s*"
    + _NUM
    + r"\s*[）)]?\s*[条项点个部分]?"
)
# 三（二）, 二(八)
_SECTION_REF = re.compile(r"([一二三])\s*[（(]\s*([一二三四五六七八九十]{1,2})\s*[）)]")
# 第13条, 第十三项
_ITEM_REF = re.compile(r"第\s*" + _NUM + r"\s*[条项点]")
SECTION_NUMERALS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
# A responsibility question about a referenced entry (第十三条谁负责).
ASKS_WHO = ("谁", "负责", "部门", "哪个单位", "哪些单位", "牵头", "归哪", "找哪")


def number_in(value: str) -> int | None:
    """ "13", "十三", "第13条", "廿一" -> 13 / 13 / 13 / 21."""
    return parse_number(re.sub(r"[^0-9０-９一二三四五六七八九十两廿零]", "", value))


def parse_reference(text: str) -> str | None:
    """The part of the plan a question names explicitly, as a key suffix or a section ref.

    "第13条" / "第十三项" / "二（八）13" -> "13"; "三（二）" / "保障措施第二条" / "第三部分第二项"
    -> "三（二）"; "二（八）" -> "二（八）" (a section of part 二: its first item). None if the
    text names no part of the plan. Pure: the caller checks that the entry exists.
    """
    said = relevance.simplify(text)
    match = _FULL_REF.search(said)
    if match:
        return str(int(match.group(3)))
    match = _SECTION_REF.search(said)
    if match:
        part, section = match.groups()
        return f"{part}（{section}）"
    match = _SAFEGUARD_PART_REF.search(said)
    if match:
        number = number_in(match.group(1))
        if number is None or not 1 <= number < len(SECTION_NUMERALS):
            return None
        return f"三（{SECTION_NUMERALS[number]}）"
    match = _ITEM_REF.search(said)
    if match:
        number = number_in(match.group(1))
        return str(number) if number is not None else None
    return None


# --- phones and amounts ---------------------------------------------------------------------

# A request for a phone number or contact (残联电话多少, 给个联系电话, 黄石市残联电话), not a
# call someone got or made (社区打电话说要登记, 接客服电话的工作, 热线记录：…) nor a wish to be
# called back (给我回个电话: a hand-off). The phone word must be what is asked for: followed by
# 多少 / 是啥, after 给 / 有没有 / 告诉, or ending a short phrase.
_PHONE = r"(?:电话号码|电话|联系方式|热线号码|热线|手机号码?|座机|(?:联系|咨询|办公|服务)号码)"
# Asked outright: the number asked for (电话多少, 号码是多少), or asked to be given (给个电话).
_PHONE_ASKED = re.compile(
    _PHONE
    + r"(?:是|号码)?(?:多少|几多|几号|是啥|是什么|在哪)|号码(?:是)?(?:多少|几多)"
    + r"|(?:给|告诉|要|有没有|有冇得?|有无|留|求)[^，。？！,.?!]{0,8}?"
    + _PHONE
)
# A short phrase that ends with the phone word (黄石市残联电话), unless it is a call made or
# taken (接客服电话).
_PHONE_PHRASE = re.compile(r"^[^，。？！,.?!]{0,14}?" + _PHONE + r"(?:吗|呢|啊)?[？?。！!]*$")
_CALL = re.compile(r"(?:接|打)[^，。？！,.?!]{0,3}电话")
_CALL_BACK = re.compile(r"回(?:个)?电话|打(?:个)?电话(?:来|过来|给我)|给我打")


def asks_for_phone(text: str) -> bool:
    """Whether the words ask for a phone number or contact of an office."""
    said = relevance.simplify(text).strip()
    if _CALL_BACK.search(said):
        return False
    if _PHONE_ASKED.search(said):
        return True
    return bool(_PHONE_PHRASE.search(said)) and not _CALL.search(said)


# A question for an amount or a number (补多少钱, 标准是多少, 占多少比例); not 多少种 (kinds).
# 几多 and 好多钱 are Hubei's 多少, 几个钱 the everyday "how much money".
_AMOUNT_ASK = re.compile(
    r"(?:多少|几多)(?![种项类条])|几个钱|几块|几元|几百|几千|几万|金额|数额|额度|百分之几|几成|几个点|"
    r"好多(?:钱|块)"
)
# Money in the question: then only a sum of money in the plan answers it.
_MONEY_ASK = re.compile(r"钱|元|块|补贴|补助|奖励|资助|工资|费|金额|数额|额度|保障金|奖金")
# 补贴标准 asks for an amount; 行业标准 / 标准化 are standards of another kind, and 标准由谁来定
# asks who sets it (三（二） says).
_STANDARD_ASK = re.compile(r"标准(?!化)")
_STANDARD_NOT_AMOUNT = re.compile(
    r"行业标准|服务标准|技术标准|建设标准|"
    r"标准[^，。？?]{0,6}(?:谁|哪个|哪(?:文件|部门|单位)|哪里)[^，。？?]{0,4}(?:定|出台)|"
    r"(?:谁|哪个?(?:文件|部门|单位))[^，。？?]{0,4}(?:定|制定|出)[^，。？?]{0,6}标准"
)
# Numbers the plan states: a sum of money, or any count, share or limit (50人, 60%, 1500名).
MONEY_IN_TEXT = re.compile(r"[0-9０-９]+(?:\.[0-9]+)?\s*万?元")
NUMBER_IN_TEXT = re.compile(
    r"[0-9０-９]+(?:\.[0-9]+)?\s*(?:%|％|万?元|人|名|个|岁|倍|天|小时|户|家|次)"
)


def asks_for_amount(text: str, intent: str | None = None) -> str | None:
    """What amount a question asks for: "money" (补多少钱, 补贴标准), "number" for another
    amount (占多少比例, 多少人), None when it asks for none."""
    said = relevance.simplify(text)
    money = bool(_MONEY_ASK.search(said)) or intent == "ask_subsidy"
    if _AMOUNT_ASK.search(said):
        return "money" if money else "number"
    if money and _STANDARD_ASK.search(said) and not _STANDARD_NOT_AMOUNT.search(said):
        return "money"
    return None


def states_amount(text: str, asked: str) -> bool:
    """Whether the plan text states the kind of amount asked for."""
    return bool((MONEY_IN_TEXT if asked == "money" else NUMBER_IN_TEXT).search(text))


MONEY_WORDS = ("补贴", "补助", "钱", "奖励", "资助")


def subsidy_kind(question: Question) -> dict[str, Any] | None:
    """The kind of subsidy the plan names that the question is about (培训补贴 -> 21), if any."""
    said = " ".join([question.normalized, *question.entities.get("topic", [])])
    best, best_len = None, 0
    for kind in topics().subsidies:
        matched = sum(len(word) for word in kind["words"] if word in said)
        if matched > best_len:
            best, best_len = kind, matched
    return best


# --- other cues -----------------------------------------------------------------------------


def out_of_scope_subjects(question: Question) -> list[str]:
    """Other schemes named (残疾证, 两项补贴 …)."""
    return [
        w for w in topics().out_of_scope_subjects if w in question.normalized or w in question.said
    ]


def other_places(question: Question) -> list[str]:
    """Places other than Huangshi named (武汉, 北京 …), and the weather."""
    return [
        w for w in topics().out_of_scope_places if w in question.normalized or w in question.said
    ]


def elsewhere_only(question: Question) -> bool:
    """Another place is named and no place of Huangshi: the question is about elsewhere
    (武汉市残疾人就业有什么政策), not a Huangshi story that mentions a trip (在武汉读完研究生，想回黄石)."""
    named = f"{question.normalized} {question.said}"
    return bool(other_places(question)) and not any(w in named for w in topics().home_places)


# "市人社局负责什么" asks about a department's duties, not about one of its topics.
_DUTIES_ASK = re.compile(
    r"负责(?:什么|哪些|啥|些什么)|管(?:什么|哪些|啥|些什么)|职责|分工|任务|干(?:么事|什么|啥|嘛)|"
    r"起(?:什么|啥|么)作用"
)
# "残疾人有哪些优惠政策", "这个方案讲了什么": about the plan as a whole.
_BROAD_ASK = re.compile(
    r"(?:哪些|什么|啥|多少)(?:样的)?(?:优惠|扶持|帮扶|福利|好处|政策|待遇|支持)|"
    r"(?:方案|文件|政策)(?:主要)?(?:讲|说|写)(?:了)?(?:什么|啥|些什么)|主要内容|有什么用|"
    r"(?:有|讲了|包括|包含|都有)(?:哪些|什么|啥)(?:内容|措施|方面|行动)|"
    r"介绍(?:一下)?(?:这个|该|这份)?(?:方案|文件|政策)|(?:帮扶|扶持)措施|大概(?:有|讲|说)|"
    r"帮(?:啥|什么|哪些)忙|能帮(?:上)?(?:啥|什么|哪些)"
)


# A detail the plan rarely states: when, how long, how old, which materials or subjects.
_DETAIL_ASK = re.compile(
    r"几月|几号|哪天|什么时候|多久|多长时间|几年|年龄|多大|岁以|材料|证明|带什么|科目|考什么|"
    r"流程|步骤|截止|期限|到账|发放时间|滞纳|罚款|扣除|入账|科目|税|发票|比例是|怎么算|计算"
)
# How to get what the plan offers (怎么申请, 去哪报名): in scope when the plan names the service.
_HOW_TO_ASK = re.compile(
    r"怎么(?:申请|办|报名|参加|弄)|[去在到]哪(?:里|儿)?(?:报名|申请|办|登记)|找谁|谁管"
)


def asks_detail(question: Question) -> bool:
    return bool(_DETAIL_ASK.search(question.asked_normalized))


def asks_how_to(question: Question) -> bool:
    return bool(_HOW_TO_ASK.search(question.asked_normalized))


# A government office by its name (市公安局, 交通运输局, 住建局): after 市/县/区, else jieba's word,
# else the two characters before 局.
_OFFICE_AFTER_PLACE = re.compile(r"[市县区]([\u4e00-\u9fff]{2,5}?局)")
_OFFICE_SHORT = re.compile(r"([\u4e00-\u9fff]{2}局)")


def office_named(question: Question) -> str | None:
    """The office (…局) a question names, as said; None when it names none."""
    said = question.said
    if "局" not in said:
        return None
    found = _OFFICE_AFTER_PLACE.search(said)
    if found:
        return found.group(1)
    word = next((w for w in segment(said) if w.endswith("局") and len(w) >= 3), None)
    if word is not None:
        return word
    found = _OFFICE_SHORT.search(said)
    return found.group(1) if found else None


def asks_duties(question: Question) -> bool:
    return bool(_DUTIES_ASK.search(question.asked_normalized))


def asks_broadly(question: Question) -> bool:
    return bool(_BROAD_ASK.search(question.asked_normalized))


# Which fact of the document a question asks for, by its words (first match wins).
_DOCUMENT_FACTS: list[tuple[str, tuple[str, ...]]] = [
    ("copy_to", ("抄送",)),
    ("addressees", ("主送", "发给", "发到", "下发给", "印发给", "哪些单位", "发给谁")),
    ("implements", ("依据", "根据", "落实", "上位", "省里", "省政府", "鄂政办发")),
    (
        "period",
        ("到期", "有效", "过期", "失效", "截止", "作废", "实施期", "期限", "管用", "算数")
        + ("哪几年", "还能用"),
    ),
    ("date", ("什么时候", "哪天", "哪一天", "日期", "哪年", "时间", "几号", "几月")),
    (
        "issuer",
        ("谁发", "哪个部门", "哪个单位", "发文机关", "机关", "印发单位", "谁印发", "市政府发")
        + ("残联发",),
    ),
    ("number", ("文号", "字号", "编号", "几号文")),
]


def document_fact(text: str) -> str | None:
    """The document fact a question asks for: copy_to, addressees, implements, period, date,
    issuer or number; None for the document as a whole (全称, 是什么文件)."""
    for fact, words in _DOCUMENT_FACTS:
        if any(w in text for w in words):
            return fact
    return None


# A count a target states (2500人, 1500名); a year (2022年, 2022-2024) is not one.
_COUNT = re.compile(r"(?<![\d-])\d+(?![\d年-])")


def targets_asked(question: Question, targets: dict[str, str]) -> list[str]:
    """The targets (suffix -> text) a question asks about, in the plan's order: those stating
    a count it names (那个1500人), narrowed by their words (培训那1500人); else the one whose
    words it uses (农村); else all of them."""
    words = {str(t["entry"]): t["words"] for t in topics().targets if str(t["entry"]) in targets}
    kinds = list(words)  # dicts keep the plan's order
    named = [k for k in kinds[1:] if any(w in question.normalized for w in words[k])]
    counts = set(_COUNT.findall(question.normalized))
    stating = [k for k in kinds if counts & set(_COUNT.findall(targets[k]))]
    if stating and len(stating) < len(kinds):
        return [k for k in named if k in stating][:1] or stating
    return named[:1] or kinds
