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
        return Response(exc.as_dict(), status=status)
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
