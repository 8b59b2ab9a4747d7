"""Error responses in short Chinese, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot.api_models import FIELD_ERRORS, MALFORMED_BODY, NOT_AN_OBJECT
from bot.middleware import SECURITY_HEADERS
from knowledge.wording import HOTLINE, HOTLINE_NAME

log = logging.getLogger(__name__)
BAD_PARAMETERS = "请求参数不正确。"
INTERNAL_ERROR = f"服务出了点问题，请稍后再试，或拨打{HOTLINE_NAME} {HOTLINE}。"


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


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s on %s", type(exc).__name__, request.url.path)
    # Starlette answers this outside every middleware, so add the security headers here.
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500, headers=SECURITY_HEADERS)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected_error)
