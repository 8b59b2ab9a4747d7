"""/docs: the OpenAPI description rendered on the server.

FastAPI's Swagger page needs inline script and a CDN, which our Content-Security-Policy (and an
offline machine) rule out; this page shows the same schema as plain HTML. /openapi.json stays.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot.console.routes import TEMPLATES

router = APIRouter(include_in_schema=False)
METHODS = ("get", "post", "put", "patch", "delete")


def _pretty(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _resolve(schema: dict, spec: dict) -> dict:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if ref and ref.startswith("#/components/schemas/"):
        return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def operations(spec: dict) -> list[dict]:
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            body_schema = _resolve(body.get("schema", {}), spec) if body else None
            responses = []
            for status, response in op.get("responses", {}).items():
                content = response.get("content", {}).get("application/json", {})
                schema = _resolve(content.get("schema", {}), spec) if content else None
                example = content.get("example") or (schema or {}).get("example")
                responses.append(
                    {
                        "status": status,
                        "description": response.get("description", ""),
                        "example": _pretty(example) if example is not None else None,
                        "schema": _pretty(schema) if schema else None,
                    }
                )
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "request_schema": _pretty(body_schema) if body_schema else None,
                    "request_example": _pretty(body_schema["example"])
                    if body_schema and "example" in body_schema
                    else None,
                    "responses": responses,
                }
            )
    return found


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    spec = request.app.openapi()
    return TEMPLATES.TemplateResponse(
        request, "api_docs.html", {"spec": spec, "operations": operations(spec)}
    )
