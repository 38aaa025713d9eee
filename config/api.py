"""API glue shared by every app: how an EncoreError becomes an HTTP answer."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mediakit.errors import EncoreError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, EncoreError):
        status = int(getattr(exc, "http_status", 400))
        answer = Response(exc.as_dict(), status=status)
        if (retry_after := getattr(exc, "retry_after_s", None)) is not None:
            answer["Retry-After"] = str(retry_after)
        return answer
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "code" not in response.data:
        response.data = {"code": _first_code(response.data, getattr(exc, "default_code", "invalid")),
                         "detail": response.data.get("detail", response.data)}
    return response


def _first_code(data: Any, default: str) -> str:
    """The code of the first error in DRF's nested error structure ("required", "not_found"...)."""
    if isinstance(data, ErrorDetail):
        return str(data.code or default)
    if isinstance(data, dict):
        for value in data.values():
            return _first_code(value, default)
    if isinstance(data, list) and data:
        return _first_code(data[0], default)
    return default


ERROR_REGISTRIES = ("charcha.errors", "personalize.errors", "musicvideo.errors", "soundtrack.errors",
                    "mediakit.errors", "jobs.errors")


def error_codes() -> dict[str, dict[str, str]]:
    """Every app's list of error codes (module -> code -> message)."""
    import importlib

    lists: dict[str, dict[str, str]] = {}
    for module in ERROR_REGISTRIES:
        try:
            lists[module.split(".")[0]] = dict(importlib.import_module(module).ERROR_CODES)
        except ModuleNotFoundError:
            continue
    return lists


def add_error_codes(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the schema's description lists every error code."""
    lines = ["", "## Errors", "",
             "A refused request answers `{\"code\": ..., \"detail\": ...}`: `code` is stable and listed below, "
             "`detail` is a sentence for people. Jobs that fail carry the same codes in `error_code`.", ""]
    for app, codes in error_codes().items():
        lines += [f"### {app}", "", "| code | meaning |", "|---|---|"]
        lines += [f"| `{code}` | {message} |" for code, message in sorted(codes.items())]
        lines.append("")
    info = result.setdefault("info", {})
    info["description"] = (info.get("description") or "") + "\n".join(lines)
    return result


ERROR_SCHEMA = {"type": "object", "required": ["code", "detail"],
                "properties": {"code": {"type": "string", "description": "stable, listed in the API description"},
                               "detail": {"description": "a sentence for people (or per-field messages)"}}}
# What any operation may answer besides its documented success, and when.
COMMON_ERRORS = {"400": "The request is not valid (see code and detail).",
                 "403": "Not logged in, no CSRF token, or not allowed.",
                 "404": "No such object (other users' objects answer the same).",
                 "429": "Too many requests of this kind; see the Retry-After header."}
WRITE_ERRORS = {"409": "The object is not in a state for this (a job already running, say).",
                "413": "The request body is larger than this endpoint accepts."}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: every operation documents its error answers."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = {**COMMON_ERRORS, **(WRITE_ERRORS if method in {"post", "put", "patch"} else {})}
            if method in {"post", "put", "patch", "delete"}:
                errors.setdefault("409", WRITE_ERRORS["409"])
            for status, description in errors.items():
                operation["responses"].setdefault(status, {"description": description, **ref})
    return result


def api_not_found(request: Any, exception: Exception | None = None) -> Any:
    """404 for the whole site: JSON under /api/, the page everywhere else."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception or Exception("not found"))
