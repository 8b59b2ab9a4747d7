"""Error responses in short Chinese, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot.api_models import FIELD_ERRORS, MALFORMED_BODY
from bot.middleware import SECURITY_HEADERS
from knowledge.wording import HOTLINE, HOTLINE_NAME

log = logging.getLogger(__name__)
BAD_PARAMETERS = "请求参数不正确。"
INTERNAL_ERROR = f"服务出了点问题，请稍后再试，或拨打{HOTLINE_NAME} {HOTLINE}。"


def validation_detail(exc: RequestValidationError) -> str:
    """Our own validators speak Chinese (type `value_error`), pydantic's known errors are
    translated (FIELD_ERRORS); anything else is a malformed body."""
    for error in exc.errors():
        if error.get("type") == "value_error":
            return str(error.get("msg"))
        loc = error.get("loc") or ()
        known = FIELD_ERRORS.get((str(loc[-1]) if loc else "", str(error.get("type"))))
        if known:
            return known
    return MALFORMED_BODY


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    if not request.url.path.startswith("/api/"):
        return JSONResponse({"detail": BAD_PARAMETERS}, status_code=422)
    return JSONResponse({"detail": validation_detail(exc)}, status_code=422)


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s on %s", type(exc).__name__, request.url.path)
    # Starlette answers this outside every middleware, so add the security headers here.
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500, headers=SECURITY_HEADERS)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected_error)
