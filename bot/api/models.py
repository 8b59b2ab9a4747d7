"""Request and response models of the chat API; they also write its OpenAPI description."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictStr, validator

from bot.api.rate_limit import too_fast_text
from bot.chat.visible_text import visible_text
from knowledge.wording import HOTLINE

MAX_MESSAGE_CHARS = 500
MAX_SENDER_CHARS = 128
EMPTY_MESSAGE = "消息不能为空，请输入您想问的问题。"
TOO_LONG_MESSAGE = f"消息太长了，请控制在 {MAX_MESSAGE_CHARS} 个字以内。"
TOO_LONG_SENDER = f"sender 太长了，最多 {MAX_SENDER_CHARS} 个字符。"
NOT_TEXT = '请求格式不正确：message 和 sender 必须是文字（字符串），例如 {"message": "盲人按摩考试在哪报名？"}。'
UNREADABLE_SENDER = "sender 里有无法识别的字符，请只用正常的文字（字母、数字、汉字等）。"
MALFORMED_BODY = '请求格式不正确，请发送 JSON，例如 {"message": "盲人按摩考试在哪报名？"}。'
NOT_AN_OBJECT = (
    "请求格式不正确：请求体要是一个 JSON 对象（Content-Type: application/json），"
    '例如 {"message": "盲人按摩考试在哪报名？"}。'
)
MISSING_MESSAGE = (
    'message 不能为空：请在 message 里写上您的问题，例如 {"message": "盲人按摩考试在哪报名？"}。'
)
ANSWER_ID_HEADER = "X-Answer-Id"
MISSING_ANSWER_ID = f"answer_id 不能为空：请填 /api/chat 响应头 {ANSWER_ID_HEADER} 的值。"
BAD_ANSWER_ID = (
    f"answer_id 不正确：请填 /api/chat 响应头 {ANSWER_ID_HEADER} 的值（文字，最多 64 个字符）。"
)
BAD_FEEDBACK_VALUE = 'value 只能是 "up"（有帮助）或 "down"（没帮助）。'

# Pydantic's own errors, said in Chinese: (field, error type) -> explanation; (field, None)
# is any other error of that field. A body that is not a JSON object gets NOT_AN_OBJECT, one
# that cannot be read as JSON at all MALFORMED_BODY (bot.api.errors.validation_detail).
FIELD_ERRORS = {
    ("message", "value_error.missing"): MISSING_MESSAGE,
    ("message", "type_error.none.not_allowed"): MISSING_MESSAGE,
    ("message", "value_error.any_str.min_length"): EMPTY_MESSAGE,
    ("message", "value_error.any_str.max_length"): TOO_LONG_MESSAGE,
    ("message", None): NOT_TEXT,
    ("sender", "value_error.any_str.max_length"): TOO_LONG_SENDER,
    ("sender", None): NOT_TEXT,
    ("answer_id", "value_error.missing"): MISSING_ANSWER_ID,
    ("answer_id", "type_error.none.not_allowed"): MISSING_ANSWER_ID,
    ("answer_id", None): BAD_ANSWER_ID,
    ("value", None): BAD_FEEDBACK_VALUE,
}


def utf8_text(text: str) -> bool:
    """False for a string with unpaired surrogates (a JSON body may carry "\\ud800"): no
    database, log or socket can take it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def openapi_extra(example: dict | None = None):
    """Config.schema_extra of the API's models: their Optional fields take and give null, which
    pydantic v1 leaves out of the schema (clients and schema checks then take a null for a
    broken request or answer). OpenAPI 3.1 says it with a type list, or anyOf for a model."""

    def extra(schema: dict, model: type[BaseModel]) -> None:
        properties = schema.get("properties", {})
        for field in model.__fields__.values():
            prop = properties.get(field.alias)
            if not field.allow_none or prop is None:
                continue
            if isinstance(prop.get("type"), str):
                prop["type"] = [prop["type"], "null"]
                if "enum" in prop:
                    prop["enum"] = [*prop["enum"], None]
            else:  # a $ref to another model
                outer = {k: prop.pop(k) for k in ("title", "description") if k in prop}
                properties[field.alias] = {**outer, "anyOf": [prop, {"type": "null"}]}
        if example is not None:
            schema["example"] = example

    return extra


class ChatRequest(BaseModel):
    # StrictStr: 123 or true is not a message (plain `str` would turn it into "123").
    # Surrounding whitespace is stripped before the length check, so "   " is empty.
    sender: StrictStr | None = Field(
        None,
        max_length=MAX_SENDER_CHARS,
        description="对话标识（可选，由客户端自定）。不填则用 HttpOnly Cookie 保持对话。"
        "它只是一个键：接口不会凭它返回其他对话的内容。",
    )
    message: StrictStr = Field(
        ...,
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        description=f"用户的问题，1–{MAX_MESSAGE_CHARS} 个字（去掉首尾空白后）。",
    )

    @validator("message", pre=True)
    def _message_visible(cls, value):
        # Before the strip and the length check, so zero-width spaces alone are "empty".
        return visible_text(value) if isinstance(value, str) else value

    @validator("sender")
    def _sender_not_blank(cls, value: str | None) -> str | None:
        return value or None

    @validator("sender")
    def _sender_readable(cls, value: str | None) -> str | None:
        # A key is refused, not repaired: two senders must never become one.
        if value is not None and not utf8_text(value):
            raise ValueError(UNREADABLE_SENDER)
        return value

    class Config:
        anystr_strip_whitespace = True
        schema_extra = openapi_extra({"sender": "kiosk-7", "message": "盲人按摩考试在哪报名？"})


class Button(BaseModel):
    title: str
    payload: str = Field(..., description="再发给 /api/chat 的 message，例如 /ask_detail")


class Reply(BaseModel):
    text: str
    buttons: list[Button] = []


class Source(BaseModel):
    document: str = Field(..., example="黄政办发〔2022〕60号")
    item: int | None = Field(None, description="条目编号；目标、保障措施和文件信息为 null")
    ref: str = Field(..., example="二（八）13")
    title: str
    departments: list[str] = []
    key: str | None = Field(
        None,
        description="条目在知识库里的键（文号#条目），稳定不变；按钮和日志都用它指这一条",
        example="黄政办发〔2022〕60号#13",
    )
    detail: str | None = Field(
        None,
        description="“查看原文”按钮要发的 message（这一条的全文）；目标和文件信息没有，为 null",
        example='/ask_detail{"entry":"黄政办发〔2022〕60号#13"}',
    )
    plain: str | None = Field(
        None,
        description="易读：这一条的简单说法（最多三句大白话，每句不超过 20 个字，"
        "方案用语第一次出现时附一行解释；每行一句，用换行分开），由人工编写、审核；没有时为 null",
        example="盲人可以参加医疗按摩考试和培训。\n可以开医疗按摩所，或去医院等地方工作。"
        "\n可以问市残联或市卫健委。",
    )

    class Config:
        schema_extra = openapi_extra()


class Intent(BaseModel):
    name: str
    confidence: float | None

    class Config:
        schema_extra = openapi_extra()


class ChatResponse(BaseModel):
    sender: str = Field(
        ..., description="客户端给的 sender；Cookie 对话返回一个不可当作键使用的代号"
    )
    replies: list[Reply]
    sources: list[Source] = Field([], description="引用的方案条目，最相关的在前")
    intent: Intent | None
    handoff: bool = Field(..., description=f"true：建议转人工或拨打 {HOTLINE}")

    class Config:
        schema_extra = openapi_extra(
            {
                "sender": "kiosk-7",
                "replies": [
                    {
                        "text": "关于盲人医疗按摩，方案第二（八）13条这样规定：……",
                        "buttons": [{"title": "找谁办", "payload": "/ask_responsible"}],
                    }
                ],
                "sources": [
                    {
                        "document": "黄政办发〔2022〕60号",
                        "item": 13,
                        "ref": "二（八）13",
                        "title": "积极开展盲人按摩就业促进行动",
                        "departments": ["各县（市、区）人民政府", "市残联", "市人社局", "市卫健委"],
                        "plain": "盲人可以参加医疗按摩考试和培训。\n"
                        "可以开医疗按摩所，或去医院等地方工作。\n可以问市残联或市卫健委。",
                        "key": "黄政办发〔2022〕60号#13",
                        "detail": '/ask_detail{"entry":"黄政办发〔2022〕60号#13"}',
                    }
                ],
                "intent": {"name": "ask_blind_massage", "confidence": 0.97},
                "handoff": False,
            }
        )


class HistoryTurn(BaseModel):
    answer_id: str
    time: str
    message: str = Field(..., description="用户说的话；点按钮时是按钮上的字")
    payload: str | None = Field(None, description="点按钮时发出的指令，例如 /ask_responsible")
    replies: list[Reply]
    sources: list[Source]
    handoff: bool
    feedback: Literal["up", "down"] | None

    class Config:
        schema_extra = openapi_extra()


class HistoryResponse(BaseModel):
    turns: list[HistoryTurn]


class FeedbackRequest(BaseModel):
    answer_id: StrictStr = Field(
        ..., max_length=64, description=f"/api/chat 响应头 {ANSWER_ID_HEADER} 的值"
    )
    value: Literal["up", "down"]

    @validator("answer_id")
    def _answer_id_readable(cls, value: str) -> str:
        if not utf8_text(value):
            raise ValueError(BAD_ANSWER_ID)
        return value

    class Config:
        schema_extra = {  # noqa: RUF012 - pydantic v1 Config, read once
            "example": {"answer_id": "3f2a9c0d6b1e4e8f9a7b5c3d2e1f0a9b", "value": "up"}
        }


class FeedbackResponse(BaseModel):
    ok: bool


class ErrorResponse(BaseModel):
    detail: str = Field(..., description="简短的中文说明")


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    gateway: dict
    rasa: dict
    action_server: dict
    knowledge_base: dict


ERROR_RESPONSES = {
    413: {
        "model": ErrorResponse,
        "description": "请求体超过 64 KB（在解析之前拒绝）",
        "content": {
            "application/json": {
                "example": {"detail": "请求内容太大（上限 64 KB），请缩短后再发送。"}
            }
        },
    },
    422: {
        "model": ErrorResponse,
        "description": "消息为空、超过 500 字、不是文字或请求格式不正确",
        "content": {"application/json": {"example": {"detail": EMPTY_MESSAGE}}},
    },
}

# Only /api/chat is limited (bot.api.rate_limit): per conversation and per client address.
RETRY_AFTER_HEADER = "Retry-After"
TOO_MANY_RESPONSE = {
    429: {
        "model": ErrorResponse,
        "description": "发得太快了：同一对话或同一地址每分钟的消息数超过上限；这条消息没有处理",
        "headers": {
            RETRY_AFTER_HEADER: {
                "description": "再等多少秒可以发下一条",
                "schema": {"type": "integer", "example": 3},
            }
        },
        "content": {"application/json": {"example": {"detail": too_fast_text(3)}}},
    }
}
