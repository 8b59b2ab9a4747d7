"""Error responses in short Chinese, never a stack trace."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from bot.api.middleware import SECURITY_HEADERS
from bot.api.models import FIELD_ERRORS, MALFORMED_BODY, NOT_AN_OBJECT
from knowledge.wording import HOTLINE, HOTLINE_NAME

log = logging.getLogger(__name__)
BAD_PARAMETERS = "请求参数不正确。"
INTERNAL_ERROR = f"服务出了点问题，请稍后再试，或拨打{HOTLINE_NAME} {HOTLINE}。"
# What the framework's own 4xx say in English ("Not Found", "Method Not Allowed", "There was an
# error parsing the body"), said in Chinese; our own HTTPExceptions are Chinese already.
FRAMEWORK_DETAILS = {
    400: BAD_PARAMETERS,
    401: "请先登录。",
    403: "没有权限访问这里。",
    404: "找不到这个地址。",
    405: "这个地址不支持这种请求方法。",
    406: "无法按要求的格式回答。",
    413: "请求内容太大，请缩短后再发送。",
    415: "不支持这种内容格式，请发送 JSON。",
}
OTHER_CLIENT_ERROR = "请求无法处理。"
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def validation_detail(exc: RequestValidationError) -> str:
    """Our own validators speak Chinese (type `value_error`); an error of a field is explained
    for that field (FIELD_ERRORS), a body that is JSON but not an object says so; only a body
    that cannot be read as JSON gets the plain "send JSON" explanation."""
    errors = exc.errors()
    for error in errors:
        if error.get("type") == "value_error":
            return str(error.get("msg"))
        loc = tuple(error.get("loc") or ())
        if len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], str):
            kind = str(error.get("type"))
            known = FIELD_ERRORS.get((loc[1], kind)) or FIELD_ERRORS.get((loc[1], None))
            if known:
                return known
    if any(
        tuple(e.get("loc") or ()) == ("body",) and e.get("type") == "type_error.dict"
        for e in errors
    ):
        return NOT_AN_OBJECT
    return MALFORMED_BODY


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    if not request.url.path.startswith("/api/"):
        return JSONResponse({"detail": BAD_PARAMETERS}, status_code=422)
    return JSONResponse({"detail": validation_detail(exc)}, status_code=422)


def allowed_methods(request: Request) -> list[str]:
    """The methods the routes at this path take ([] when no route has the path).

    The web page's files are mounted at "/" after every route, so they answer a path a route
    knows but with another method (GET /api/chat, TRACE /api/chat) with their own 404 or
    405 and no Allow header; the routes say what the answer should be."""
    allowed: set[str] = set()
    for route in request.app.router.routes:
        if not isinstance(route, Route) or not route.methods:
            continue  # the mounts: the web page's and the console's files
        if route.matches(request.scope)[0] != Match.NONE:
            allowed |= route.methods
    return sorted(allowed)


async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Starlette's handler, with the framework's English details said in Chinese."""
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail, status, headers = exc.detail, exc.status_code, exc.headers
    if status in (404, 405):
        allowed = allowed_methods(request)
        if allowed and request.method not in allowed:
            status, headers = 405, {**(headers or {}), "Allow": ", ".join(allowed)}
    if not (isinstance(detail, str) and _CHINESE.search(detail)):
        if status >= 500:
            detail = INTERNAL_ERROR
        elif status == 400 and request.url.path.startswith("/api/"):
            # FastAPI's 400 for a body it could not decode (not UTF-8): the API documents
            # every malformed body as 422, and says so.
            detail, status = MALFORMED_BODY, 422
        else:
            detail = FRAMEWORK_DETAILS.get(status, OTHER_CLIENT_ERROR)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s on %s", type(exc).__name__, request.url.path)
    # Starlette answers this outside every middleware, so add the security headers here.
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500, headers=SECURITY_HEADERS)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
