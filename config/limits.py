"""Request-body limits enforced before a byte of an oversized upload is stored.

A request whose declared length is over its path's limit is answered 413 without reading the body;
a body sent without a length (chunked) is counted while it streams and the connection is cut at the
limit. The reverse proxy in front should refuse the same sizes (platform/nginx.conf.example).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin


def body_limit(path: str) -> int:
    """The largest body accepted on ``path``: the longest matching prefix's, else the default."""
    best, limit = -1, int(settings.ENCORE_REQUEST_MAX_BYTES)
    for prefix, value in settings.ENCORE_UPLOAD_MAX_BYTES_BY_PATH.items():
        if path.startswith(prefix) and len(prefix) > best:
            best, limit = len(prefix), int(value)
    return limit


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = f"The file is larger than we accept here ({limit / 2**20:.0f} MiB at most)."
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        return HttpResponse(json.dumps({"code": "media_too_large", "detail": message}), status=413,
                            content_type="application/json")
    return HttpResponse(f"<!doctype html><title>Too large</title><h1>That file is too large</h1><p>{message}</p>"
                        '<p><a href="javascript:history.back()">Go back</a> and choose a smaller file.</p>',
                        status=413, content_type="text/html; charset=utf-8")


class BodyLimitMiddleware(MiddlewareMixin):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = body_limit(request.path)
        if declared > limit:
            return _too_large(request, limit)
        # Counted again while streaming, for bodies sent without a length.
        request.upload_handlers = [CountingUploadHandler(request, limit=limit), *request.upload_handlers]
        return None


class CountingUploadHandler(FileUploadHandler):
    """Stops the upload (and the connection) once the body passes the path's limit."""

    def __init__(self, request: HttpRequest | None = None, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

