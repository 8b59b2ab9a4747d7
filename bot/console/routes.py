"""Console pages. Every route of `router` requires a signed-in operator; `public` is sign-in only."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from bot import deps
from bot.chat.conversation_log import LOG_FILTERS
from bot.chat.masking import mask
from bot.chat.retention import LOG_STORE, RASA_STORE, ForgetError, conversation, forget
from bot.console.csv_export import turns_csv
from bot.console.passwords import has_password, verify_password
from bot.console.ranker import RankerDep, knowledge
from bot.console.session import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    NotSignedIn,
    csrf_ok,
    login_token,
    new_login_token,
    new_session,
    require_operator,
)
from bot.console.spoken import phone_text
from bot.deps import (
    ConversationLogDep,
    KnowledgeOpenerDep,
    LoginThrottleDep,
    PasswordStoreDep,
    SettingsDep,
    resolve,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
FILTER_LABELS = {
    "low": "置信度低",
    "unanswered": "没有答上",
    "down": "👎 差评",
    "handoff": "转人工",
}
CHANNEL_LABELS = {"web": "网页", "api": "接口", "wechat": "微信"}
FULL_LOG_ID = re.compile(r"^[0-9a-f]{32}$")

public = APIRouter(prefix="/console", include_in_schema=False)
router = APIRouter(
    prefix="/console", include_in_schema=False, dependencies=[Depends(require_operator)]
)


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    session = getattr(request.state, "console_session", None)
    context.setdefault("csrf", session["csrf"] if session else None)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def safe_next(path: str | None) -> str:
    # Only ever back into the console: no open redirect through ?next=.
    if path and path.startswith("/console") and not path.startswith("//"):
        return path
    return "/console"


# -- sign-in -------------------------------------------------------------------------------

NOT_SIGNED_IN = "请先登录热线工作台。"
# RFC 9110: a 401 names a scheme. Ours is the sign-in form; browsers ignore unknown schemes.
UNSIGNED_HEADERS = {"WWW-Authenticate": 'Session realm="console"'}


def login_form(
    request: Request,
    settings,
    passwords,
    next: str | None,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """The sign-in form. Reads the password table (a database): call it off the event loop."""
    token, signed = new_login_token(settings)
    response = render(
        request,
        "console/login.html",
        status_code=status_code,
        login_csrf=token,
        next=safe_next(next),
        no_password=not has_password(passwords),
        error=error,
    )
    response.set_cookie(LOGIN_COOKIE, signed, httponly=True, samesite="strict", path="/console")
    return response


async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
    """Every unsigned console request gets 401 and no console content.

    A page (GET, not the CSV) shows the sign-in form in place, so a browser user can sign in
    and come back; the CSV export and form posts get a short JSON explanation.
    """
    if request.method == "GET" and not request.url.path.endswith(".csv"):
        # An async handler: the form reads the password table, so it runs in the threadpool.
        settings, passwords = resolve(request, deps.settings), resolve(request, deps.password_store)
        response = await run_in_threadpool(
            login_form, request, settings, passwords, exc.next_path, 401
        )
        response.headers.update(UNSIGNED_HEADERS)
        return response
    return JSONResponse({"detail": NOT_SIGNED_IN}, status_code=401, headers=UNSIGNED_HEADERS)


@public.get("/login")
def login_page(
    request: Request, settings: SettingsDep, passwords: PasswordStoreDep, next: str | None = None
) -> HTMLResponse:
    return login_form(request, settings, passwords, next)


@public.post("/login")
def login(
    request: Request,
    settings: SettingsDep,
    passwords: PasswordStoreDep,
    throttle: LoginThrottleDep,
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/console"),
) -> Response:
    client = request.client.host if request.client else "?"

    def again(error: str, status_code: int) -> HTMLResponse:
        return login_form(request, settings, passwords, next, status_code=status_code, error=error)

    if not csrf_ok(login_token(request, settings), csrf):
        return again("页面已过期，请重新输入密码。", 400)
    if throttle.blocked(client):
        return again("登录失败次数太多，请 10 分钟后再试。", 429)
    if not verify_password(passwords, password):
        throttle.failed(client)
        return again("密码不对，请重试。", 401)
    throttle.succeeded(client)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new_session(settings, passwords),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


# -- signed-in pages -----------------------------------------------------------------------


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    if not csrf_ok(request.state.console_session["csrf"], csrf):
        return render(
            request,
            "console/message.html",
            status_code=400,
            title="无法退出",
            message="页面已过期，请刷新后再试。",
        )
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


def entry_view(kb, entry) -> dict:
    return {
        "entry": entry,
        "phone_text": phone_text(entry, kb.document(entry.document).title),
        # The easy-read summary (knowledge/easy_read.yml): a phone-ready way to explain it.
        "plain": kb.plain_summary(entry.key),
    }


@router.get("")
async def search_page(request: Request, ranker: RankerDep, q: str = "") -> HTMLResponse:
    query = mask(q.strip())[:200]
    kb, problem = ranker.knowledge()
    entries = []
    if kb is not None and query:
        entries = await ranker.ranked(kb, query)
    return render(
        request,
        "console/search.html",
        q=query,
        results=[entry_view(kb, entry) for entry in entries],
        problem=problem,
    )


@router.get("/browse")
def browse_page(request: Request, open_knowledge: KnowledgeOpenerDep) -> HTMLResponse:
    kb, problem = knowledge(open_knowledge)
    parts, entries = [], {}
    if kb is not None:
        parts = kb.structure()
        entries = {e.key: entry_view(kb, e) for e in kb.entries()}
    return render(request, "console/browse.html", parts=parts, entries=entries, problem=problem)


@router.get("/entry")
def entry_page(request: Request, open_knowledge: KnowledgeOpenerDep, key: str = "") -> HTMLResponse:
    kb, _ = knowledge(open_knowledge)
    if kb is None:
        return render(
            request,
            "console/message.html",
            status_code=503,
            title="知识库不可用",
            message="知识库还没有建好（make setup）。",
        )
    try:
        entry = kb.entry(key)
    except LookupError:
        return render(
            request,
            "console/message.html",
            status_code=404,
            title="没有这一条",
            message="方案里找不到这一条。",
        )
    return render(request, "console/entry.html", item=entry_view(kb, entry))


@router.get("/departments")
def departments_page(
    request: Request, open_knowledge: KnowledgeOpenerDep, name: str | None = None
) -> HTMLResponse:
    kb, problem = knowledge(open_knowledge)
    departments, selected, items = [], None, []
    if kb is not None:
        departments = kb.departments()
        if name:
            try:
                selected = kb.department(name)
                items = [entry_view(kb, kb.entry(key)) for key in selected.keys]
            except LookupError:
                selected = None
    return render(
        request,
        "console/departments.html",
        departments=departments,
        selected=selected,
        name=name,
        items=items,
        problem=problem,
        quote=quote,
    )


def _filters(channel: str | None, filter: str | None) -> tuple[str | None, str | None]:
    return (
        channel if channel in CHANNEL_LABELS else None,
        filter if filter in LOG_FILTERS else None,
    )


@router.get("/log")
def log_page(
    request: Request,
    log: ConversationLogDep,
    channel: str | None = None,
    filter: str | None = None,
):
    channel, filter = _filters(channel, filter)
    conversations = log.conversations(channel=channel, filter=filter)
    log.audit("log", len(conversations), channel, filter)
    return render(
        request,
        "console/log.html",
        conversations=conversations,
        channel=channel,
        filter=filter,
        filter_labels=FILTER_LABELS,
        channel_labels=CHANNEL_LABELS,
    )


@router.post("/forget")
def forget_conversation(
    request: Request,
    settings: SettingsDep,
    log: ConversationLogDep,
    sender: str = Form(""),
    csrf: str = Form(""),
    confirm: str = Form(""),
) -> HTMLResponse:
    """删除这段对话: first a page that asks to confirm, then the deletion (bot/chat/retention.py:
    the log's turns and Rasa's events, overwritten in the files)."""

    def message(status_code: int, title: str, text: str) -> HTMLResponse:
        return render(
            request, "console/message.html", status_code=status_code, title=title, message=text
        )

    if not csrf_ok(request.state.console_session["csrf"], csrf):
        return message(400, "没有删除", "页面已过期，请刷新后再试。")
    if not FULL_LOG_ID.match(sender):  # the log page always sends the whole id
        return message(400, "没有删除", "对话编号不对，请从对话记录页面删除。")
    try:
        found = conversation(settings, sender)
        if not found.turns:
            raise ForgetError("对话记录里没有这段对话，可能已经删除了")
        if confirm != "yes":
            log.audit("forget", found.turns)
            return render(
                request,
                "console/forget.html",
                found=found,
                channel_label=CHANNEL_LABELS.get(found.channel or "", found.channel or ""),
            )
        found, deleted = forget(settings, sender)
    except ForgetError as error:
        return message(404, "没有删除", f"{error}。")
    log_rows = sum(d.rows for d in deleted if d.store == LOG_STORE)
    rasa_rows = sum(d.rows for d in deleted if d.store == RASA_STORE)
    text = f"删除了对话记录里的 {log_rows} 轮问答和助手（Rasa）里的 {rasa_rows} 条对话状态。"
    if not found.rasa_senders:
        text += "这段对话在助手（Rasa）里的对话状态找不到，会在保存期满时自动删除。"
    if not all(d.clean for d in deleted):
        text += "有文件正忙，删掉的文字可能还留在文件里，每天的自动清理会再处理。"
    return message(200, "已删除这段对话", text)


@router.get("/unanswered")
def unanswered_page(request: Request, log: ConversationLogDep) -> HTMLResponse:
    groups = log.unanswered()
    log.audit("unanswered", len(groups))
    return render(request, "console/unanswered.html", groups=groups)


@router.get("/log.csv")
def log_csv(
    log: ConversationLogDep, channel: str | None = None, filter: str | None = None
) -> Response:
    channel, filter = _filters(channel, filter)
    turns = log.turns(channel=channel, filter=filter, limit=100_000)
    log.audit("log.csv", len(turns), channel, filter)
    return Response(
        turns_csv(turns).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
    )
