"""API glue shared by every app: how an EncoreError becomes an HTTP answer."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mediakit.errors import EncoreError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, EncoreError):
        status = int(getattr(exc, "http_status", 400))
        return Response(exc.as_dict(), status=status)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "code" not in response.data:
        default_code = getattr(exc, "default_code", "invalid")
        detail = response.data.get("detail", response.data)
        response.data = {"code": str(getattr(detail, "code", default_code)), "detail": detail}
    return response
