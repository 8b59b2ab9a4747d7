"""The review loop in the console: label the questions the assistant got wrong, and retrain.

/console/review lists the questions to review (bot/console/review.py), /console/review/question
labels one group of wordings, /console/retrain starts a retrain in the background
(`python -m bot retrain`, bot/cli/retrain.py) and shows its progress and every report.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.chat.conversation_log import ConversationLog
from bot.chat.masking import mask
from bot.cli import retrain
from bot.console import review
from bot.console.ranker import Ranker, RankerDep
from bot.console.routes import render
from bot.console.session import csrf_ok, require_operator
from bot.deps import ConversationLogDep, SettingsDep
from bot.settings import REPO_ROOT, Settings

REVIEWER_COOKIE = "console_reviewer"
REVIEWER_MAX = 40
SEARCH_MAX = 200

router = APIRouter(
    prefix="/console", include_in_schema=False, dependencies=[Depends(require_operator)]
)


def start_retrain(settings: Settings, run_id: str) -> None:
    """`python -m bot retrain --id RUN_ID` in its own session: it outlives a page, never
    blocks the gateway, and loads Rasa and TensorFlow in its own process."""
    settings.retrain_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.retrain_dir / f"{run_id}.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "bot", "retrain", "--id", run_id],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def retrain_starter() -> Callable[[Settings, str], None]:
    return start_retrain


RetrainStarter = Annotated[Callable[[Settings, str], None], Depends(retrain_starter)]


def _message(request: Request, status_code: int, title: str, text: str) -> HTMLResponse:
    return render(
        request, "console/message.html", status_code=status_code, title=title, message=text
    )


# -- the queue ------------------------------------------------------------------------------


@router.get("/review")
def review_page(request: Request, log: ConversationLogDep) -> HTMLResponse:
    groups = review.queue(log)
    recent = log.reviews(limit=20)
    log.audit("review", len(groups) + len(recent))
    return render(
        request,
        "console/review.html",
        groups=groups,
        recent=recent,
        reasons=review.REASONS,
        verdicts=review.VERDICTS,
        what_it_did=review.what_it_did,
        quote=quote,
    )


@router.get("/review/question")
async def question_page(
    request: Request,
    log: ConversationLogDep,
    ranker: RankerDep,
    key: str = "",
    q: str = "",
    done: int = 0,
):
    group = await run_in_threadpool(review.find, log, key)
    if group is None:
        # Not an error: a colleague reviewed it meanwhile, or it was deleted.
        return _message(request, 200, "这个问题不用再审核", "它已经审核过了，或者已经删除。")
    return await _question(request, log, ranker, group, q=q, done=done)


async def _question(
    request: Request,
    log: ConversationLog,
    ranker: Ranker,
    group: review.Group,
    *,
    q: str = "",
    done: int = 0,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    kb, problem = ranker.knowledge()
    query = mask(q.strip())[:SEARCH_MAX]
    suggestions, found = [], []
    if kb is not None:
        suggestions = await ranker.ranked(kb, group.question)
        if query:
            shown = {e.key for e in suggestions}
            found = [e for e in await ranker.ranked(kb, query) if e.key not in shown]
    log.audit("review", len(group.members))
    return render(
        request,
        "console/review_question.html",
        status_code=status_code,
        group=group,
        turn=group.turn,
        did=review.what_it_did(group.turn),
        right=review.right_label(group.turn),
        reasons=review.REASONS,
        suggestions=suggestions,
        found=found,
        q=query,
        done=done,
        error=error,
        problem=problem,
        reviewer=unquote(request.cookies.get(REVIEWER_COOKIE, ""))[:REVIEWER_MAX],
    )


@router.post("/review")
async def review_post(
    request: Request,
    log: ConversationLogDep,
    ranker: RankerDep,
    settings: SettingsDep,
    key: str = Form(""),
    choice: str = Form(""),
    reviewer: str = Form(""),
    keep: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    if not csrf_ok(request.state.console_session["csrf"], csrf):
        return _message(request, 400, "没有保存", "页面已过期，请刷新后再试。")
    group = await run_in_threadpool(review.find, log, key)
    if group is None:
        return _message(request, 404, "没有保存", "这个问题已经审核过了，或者已经删除。")
    reviewer = " ".join(reviewer.split())[:REVIEWER_MAX]
    verdict, _, entry_key = choice.partition(":")
    error = None
    if not reviewer:
        error = "请填写审核人。"
    elif verdict not in review.VERDICTS:
        error = "请选择一项：正确的条目、方案没有涉及、助手答对了，或跳过。"
    elif verdict == "entry" and not _entry_exists(ranker, entry_key):
        error = "方案里找不到选中的条目，请重新选择。"
    label = review.label_of(verdict, entry_key or None, group.turn)
    if error is None and verdict == "right" and label is None:
        error = "助手没有给出答案，不能选“助手答对了”。"
    if error:
        return await _question(request, log, ranker, group, error=error, status_code=400)
    count = await run_in_threadpool(
        review.record,
        log,
        group,
        verdict=verdict,
        label=label,
        reviewer=reviewer,
        keep=keep == "yes",
        check_share=settings.review_check_share,
    )
    following = await run_in_threadpool(review.queue, log, 1)
    target = (
        f"/console/review/question?key={quote(following[0].key)}&done={count}"
        if following
        else "/console/review"
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        REVIEWER_COOKIE, quote(reviewer), httponly=True, samesite="strict", path="/console"
    )
    return response


def _entry_exists(ranker: Ranker, key: str) -> bool:
    kb, _ = ranker.knowledge()
    if kb is None or not key:
        return False
    try:
        kb.entry(key)
    except LookupError:
        return False
    return True


@router.post("/review/undo")
def undo_post(
    request: Request, log: ConversationLogDep, key: str = Form(""), csrf: str = Form("")
) -> Response:
    if not csrf_ok(request.state.console_session["csrf"], csrf):
        return _message(request, 400, "没有撤销", "页面已过期，请刷新后再试。")
    if not log.undo_review(key):
        return _message(request, 404, "没有撤销", "找不到这条审核，可能已经撤销或删除。")
    return RedirectResponse("/console/review", status_code=303)


# -- retraining -----------------------------------------------------------------------------


@router.get("/retrain")
def retrain_page(request: Request, settings: SettingsDep, started: str = "") -> HTMLResponse:
    reports = retrain.reports(settings)
    return render(
        request,
        "console/retrain.html",
        reports=reports,
        busy=retrain.running(settings),
        started=started,
        steps=retrain.STEPS,
        step_names=retrain.STEP_NAMES,
        set_names=retrain.SET_NAMES,
        progress_text=progress_text,
    )


@router.get("/retrain/status")
def retrain_status(settings: SettingsDep, id: str = "") -> JSONResponse:
    """A retrain's progress (the latest one's without `id`), for the page's script."""
    reports = retrain.reports(settings, limit=1)
    if id:
        reports = [r for r in retrain.reports(settings) if r.get("id") == id]
        if not reports:
            return JSONResponse({"status": "starting", "text": "正在准备重新训练……"})
    if not reports:
        return JSONResponse({"status": None, "text": "还没有重新训练过。"})
    return JSONResponse({"status": reports[0]["status"], "text": progress_text(reports[0])})


def progress_text(report: dict) -> str:
    if report["status"] == "running":
        step = report.get("step")
        index = retrain.STEPS.index(step) + 1 if step in retrain.STEPS else 0
        name = retrain.STEP_NAMES.get(step, "准备")
        return (
            f"正在重新训练：第 {index}/{len(retrain.STEPS)} 步，{name}"
            f"（已用 {report.get('seconds', 0):.0f} 秒）。"
        )
    return report.get("reason") or report["status"]


@router.post("/retrain")
def retrain_post(
    request: Request, start: RetrainStarter, settings: SettingsDep, csrf: str = Form("")
) -> Response:
    if not csrf_ok(request.state.console_session["csrf"], csrf):
        return _message(request, 400, "没有开始", "页面已过期，请刷新后再试。")
    if retrain.running(settings):
        return _message(request, 409, "没有开始", "另一次重新训练正在进行，请等它结束。")
    run_id = retrain.new_id()
    start(settings, run_id)
    return RedirectResponse(f"/console/retrain?started={quote(run_id)}", status_code=303)
