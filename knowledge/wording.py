"""The fixed Chinese wording of answers: frames, contact points and small talk.

Every phone number and contact the assistant may name lives here. The plan itself names no
phone number; 12385 is the national service hotline for persons with disabilities.
The small-talk replies are also domain responses (domain.yml); a test keeps both in step.
"""

from __future__ import annotations

from knowledge import payloads

HOTLINE = "12385"
HOTLINE_NAME = "全国残疾人服务热线"
LOCAL_FEDERATION = "当地残联"

# Frames for an answer quoted from the plan.
ANSWER_LEAD = "根据方案，"
BASIS = "依据：{document} {ref}"
DEPARTMENTS = "负责部门：{departments}"
NO_DEPARTMENTS = "这部分没有列出具体负责部门，可以咨询{local}或拨打{hotline_name}{hotline}。"
# The period comes from the cited entry's document (kb.document(number).period).
PERIOD_LINE = "（这是方案中{period}年的措施，现在办理请以当地最新政策为准。）"
UNDATED_LINE = "（这是方案中的措施，现在办理请以当地最新政策为准。）"
DEPARTMENT_SEPARATOR = "、"

# Buttons offered after a quoted answer.
BUTTON_DETAIL = {"title": "详细说说", "payload": "/ask_detail"}
BUTTON_RESPONSIBLE = {"title": "找谁办", "payload": "/ask_responsible"}
BUTTON_MORE = {"title": "还有别的吗", "payload": "/ask_more"}


def detail_button(key: str) -> dict:
    return {"title": BUTTON_DETAIL["title"], "payload": payloads.about("ask_detail", key)}


def responsible_button(key: str) -> dict:
    return {"title": BUTTON_RESPONSIBLE["title"], "payload": payloads.about("ask_responsible", key)}


# Follow-ups.
RESPONSIBLE_LEAD = "{ref}（{title}）的负责部门："
RESPONSIBLE_TAIL = f"具体办理可以先联系{LOCAL_FEDERATION}，也可以拨打{HOTLINE_NAME}{HOTLINE}。"
DETAIL_LEAD = "{document} {ref} 原文："
MORE_LEAD = "方案里还有一条相关的："
NOTHING_MORE = "和这个问题相关的内容，方案里就是这些了。您可以换个问法，或者问问别的。"
NO_CONTEXT = "您想问方案里的哪一项呢？可以直接说您的问题，比如“盲人按摩有什么支持”。"

# Questions the assistant asks back instead of guessing.
SUBSIDY_CLARIFY = "方案里提到的补贴和奖励有好几种，您想了解哪一种？"
CANDIDATES_LEAD = "您是想问下面哪一项？"

# Departments and items; a department's entries come in pages.
DEPARTMENT_LEAD = "{department}在方案中负责（或参与）{count}项，这是第{first}到第{last}项："
DEPARTMENT_PAGE_SIZE = 5
DEPARTMENT_NEXT = "下一页（{department}）"
DEPARTMENT_LINE = "· {ref}：{snippet}"
# A department's items are told apart by the start of their own first sentence.
SNIPPET_LENGTH = 40
ELLIPSIS = "…"
DEPARTMENT_UNKNOWN = "您想问哪个部门？比如“市人社局负责什么”。"
# Candidate buttons are told apart by their ref and the start of their first sentence.
CANDIDATE_TITLE = "{ref} {snippet}"
CANDIDATE_SNIPPET_LENGTH = 24

# Document facts; the period has ended, newer policy may apply. The fact asked comes first.
DOCUMENT = "这份文件是《{title}》，文号{number}，由{issuer}于{date}印发，实施期为{period}年。"
# The same record without the period, when the period was already the fact asked.
DOCUMENT_WITHOUT_PERIOD = "这份文件是《{title}》，文号{number}，由{issuer}于{date}印发。"
DOCUMENT_IMPLEMENTS = "它是为落实《{implements_title}》（{implements}）制定的。"
DOCUMENT_ADDRESSEES = "《{title}》（{number}）主送：{addressees}。"
DOCUMENT_COPY_TO = "《{title}》（{number}）抄送：{copy_to}。"
DOCUMENT_DATE = "《{title}》（{number}）于{date}印发。"
DOCUMENT_ISSUER = "《{title}》（{number}）由{issuer}印发。"
DOCUMENT_NUMBER = "《{title}》的文号是{number}。"
DOCUMENT_PERIOD = "《{title}》（{number}）的实施期为{period}年。"
DOCUMENT_LIST_SEPARATOR = "、"
PERIOD_ENDED = (
    f"方案的实施期已经结束，现在可能有新的政策，请以最新政策为准，"
    f"可以咨询{LOCAL_FEDERATION}或拨打{HOTLINE_NAME}{HOTLINE}。"
)

# Added when a question asks for an amount or standard that the cited plan text does not state.
NO_AMOUNT = (
    "方案没有写具体金额或标准，按有关规定执行，"
    f"具体可以咨询{LOCAL_FEDERATION}或人社部门，或拨打{HOTLINE_NAME}{HOTLINE}。"
)

# Not covered: one sentence, the nearby thing the plan does cover, and where to ask.
NOT_COVERED = (
    "方案里没有写这个，我不能替方案回答。"
    f"您可以拨打{HOTLINE_NAME}{HOTLINE}，或者咨询{LOCAL_FEDERATION}。"
)
NOT_COVERED_AMOUNT = (
    "方案里没有写具体金额、日期或办理手续，我不能替方案回答。"
    f"您可以拨打{HOTLINE_NAME}{HOTLINE}，或者咨询{LOCAL_FEDERATION}。"
)
NEARBY_LEAD = "方案里相关的内容在下面，可以点开看看。"
NEARBY_TITLE = "方案里相关的：{ref} {snippet}"
# A second need in the same question, offered as a button.
ALSO_TITLE = "另外：{ref} {snippet}"

# A broad question: what the plan offers, one button per action.
OVERVIEW_LEAD = "《{plan_title}》有{count}项行动："
OVERVIEW_LINE = "{ref} {heading}"
OVERVIEW_TAIL = (
    "点下面的按钮看具体内容，或者直接说说您的情况，比如“我是盲人，想学按摩”；"
    "点“看看我适合哪些政策”，回答几个问题，我帮您找出和您有关的条目。"
)

# Targets.
TARGETS_LEAD = "方案的目标："

# Replies that cite nothing.
# {plan_title} is filled from the default document (a Rasa response variable as well).
OUT_OF_SCOPE = (
    "这个问题不在《{plan_title}》的范围内，"
    f"我没法根据方案回答。您可以拨打{HOTLINE_NAME}{HOTLINE}，或者咨询{LOCAL_FEDERATION}。"
)
NO_ANSWER = (
    "抱歉，这个问题我在方案里没有找到答案。"
    f"您可以拨打{HOTLINE_NAME}{HOTLINE}，或者咨询{LOCAL_FEDERATION}。"
)
# There is no live agent behind the web chat or WeChat: never promise a transfer.
HANDOFF = (
    "网页和微信里没有人工客服在线，我没法为您转接真人。"
    f"需要人工帮助，请拨打{HOTLINE_NAME}{HOTLINE}，或者联系{LOCAL_FEDERATION}。"
)
# The plan names no phone number of any local office: say so, never make one up.
NO_PHONE = (
    "方案里没有写残联、人社局等当地部门的电话号码，我不能提供。"
    f"您可以拨打{HOTLINE_NAME}{HOTLINE}，或者联系{LOCAL_FEDERATION}。"
)
# An office the plan does not list among its responsible departments (市公安局管什么).
OFFICE_NOT_IN_PLAN = (
    "方案列出的责任部门里没有{office}，方案没有写它在残疾人就业上的职责。"
    f"您可以拨打{HOTLINE_NAME}{HOTLINE}，或者咨询{LOCAL_FEDERATION}。"
)
KB_UNAVAILABLE = (
    f"抱歉，政策资料暂时打不开，我现在没法回答。请拨打{HOTLINE_NAME}{HOTLINE}，或者稍后再试。"
)
GREET = (
    "您好！我是助残就业政策助手，可以回答黄石市促进残疾人就业三年行动方案里的问题，"
    "比如培训补贴、盲人按摩、公益性岗位、大学生就业。请直接说您的问题。"
)
THANKS = "不客气！还有别的问题可以随时问我。"
GOODBYE = f"再见！有需要可以随时来问，也可以拨打{HOTLINE_NAME}{HOTLINE}。"

# The domain responses (domain.yml) that carry the fixed replies, by name.
RESPONSES = {
    "utter_greet": GREET,
    "utter_thanks": THANKS,
    "utter_goodbye": GOODBYE,
    "utter_handoff": HANDOFF,
    "utter_contact": NO_PHONE,
    "utter_out_of_scope": OUT_OF_SCOPE,
    "utter_no_answer": NO_ANSWER,
    "utter_kb_unavailable": KB_UNAVAILABLE,
}


# A whole part of the plan, named by its numeral alone ("一" of a target).
_PART_NUMERALS = frozenset("一二三四五六七八九十")


def readable_ref(ref: str, *, kind: str | None = None, aloud: bool = False) -> str:
    """二（八）13 -> 二（八）第13条; refs without an item number stay as they are.

    `aloud` (the hotline console's text, read out or pasted into a sentence): a part's bare
    numeral becomes 第一部分, and any other ref without an item number, except a safeguard's
    (`kind` "safeguard", e.g. 三（二）), is quoted as “通知”部分 so it is heard as a name.
    """
    if aloud:
        ref = ref.strip()
    head, _, tail = ref.rpartition("）")
    if tail.isdigit():
        return f"{head}）第{tail}条"
    if ref.isdigit():
        return f"第{ref}条"
    if not aloud or not ref or kind == "safeguard":
        return ref
    if set(ref) <= _PART_NUMERALS:
        return f"第{ref}部分"
    return f"“{ref}”部分"


# --- the situation check (看看我适合哪些政策), a Rasa form (domain.yml situation_form) ------
# Each question is the domain response utter_ask_<facet>; its buttons send their own title, so a
# tap and typed words take the same path. A test keeps domain.yml in step with these.
SITUATION_START_TITLE = "看看我适合哪些政策"
SITUATION_START_PAYLOAD = "/check_situation"
SITUATION_SKIP = "不想说"
SITUATION_INTRO = (
    "好的，我问几个简单的问题，帮您找出方案里和您有关的条目。"
    "每个问题都可以说“不想说”，说“算了”就停下。"
)
SITUATION_QUESTIONS = {
    "asker": ("请问您是？", ["我是残疾人本人", "我是家属", "我是用人单位", "我是工作人员"]),
    "disability": (
        "残疾类别是？",
        ["视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾"],
    ),
    "age_group": ("年龄在哪一段？也可以直接说岁数。", ["未成年", "就业年龄段", "已退休或年纪大了"]),
    "situation": (
        "现在的情况是？",
        ["在校或应届大学生", "没有工作", "有工作", "想创业或已创业", "在家务农", "想上职业学校"],
    ),
    "area": ("住在哪里？", ["黄石港、西塞山、下陆、铁山、开发区", "大冶市", "阳新县", "不在黄石"]),
    "settlement": ("住在城镇还是农村？", ["城镇", "农村"]),
}
SITUATION_NOT_UNDERSTOOD = (
    "抱歉，我没听明白。可以点下面的按钮，也可以直接说；不想说可以说“不想说”，说“算了”就停下。"
)
SITUATION_SKIPPED_FOR_YOU = "这个问题先跳过。"
SITUATION_STOPPED = "好的，不问了。您可以直接问方案里的问题，比如“盲人按摩有什么政策”。"
SITUATION_RESULT_LEAD = "根据您的回答，方案里这几条可能和您有关："
SITUATION_RESULT_LINE = "{n}. {ref}：{phrase}（负责：{departments}）"
SITUATION_RESULT_BARE = "{n}. {ref}：{phrase}"
SITUATION_ENDED = (
    "这份方案的实施期是{period}年，已经结束，现在的规定可能不同，办理前请向当地残联或人社部门确认。"
)
SITUATION_CURRENT = "这份方案的实施期是{period}年，办理前请向当地残联或人社部门确认最新规定。"
SITUATION_RESULT_TAIL = "点下面的条目可以看原文。还想问什么？"
SITUATION_NOTHING = (
    "根据您的回答，方案里没有找到专门针对您情况的条目。"
    f"您可以拨打{HOTLINE_NAME}{HOTLINE}，或者咨询{LOCAL_FEDERATION}，也可以直接问我具体的问题。"
)
SITUATION_OUTSIDE = (
    "这份方案只适用于黄石市（包括大冶市、阳新县）。其他地方的政策请咨询当地残联，"
    f"或拨打{HOTLINE_NAME}{HOTLINE}。"
)
SITUATION_ENTRY_TITLE = "{ref} 原文"
RESPONSES.update({f"utter_ask_{facet}": q for facet, (q, _) in SITUATION_QUESTIONS.items()})


# How long conversations are kept and how to have one deleted: the WeChat welcome says it, and
# GET /api/privacy fills it into the web page's privacy notice.
def retention_notice(days: int) -> str:
    return (
        f"对话记录保存 {days} 天，到期自动删除；想提前删除您的对话，"
        f"请拨打{HOTLINE_NAME} {HOTLINE} 或联系{LOCAL_FEDERATION}。"
    )
