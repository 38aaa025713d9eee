"""Project glue between Django uploads and mediakit's validation: spool, validate, then store.

Nothing reaches storage or the database before the content has been validated, and a refused
upload leaves neither a file nor a row behind.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase

from mediakit.errors import MediaError
from mediakit.isolate import validate_isolated
from mediakit.probe import MediaInfo
from mediakit.validate import MediaKind, MediaLimits, receive_upload

# Stored files are named from what the content is, never from what the user called it.
_EXTENSIONS = {"mp3": ".mp3", "wav": ".wav", "flac": ".flac", "ogg": ".ogg", "mov": ".mp4", "mp4": ".mp4",
               "matroska": ".mkv", "webm": ".webm", "avi": ".avi", "aiff": ".aiff"}


def extension_for(info: MediaInfo) -> str:
    for name in info.container.split(","):
        if name in _EXTENSIONS:
            return ".m4a" if name == "mov" and info.video is None else _EXTENSIONS[name]
    return ".bin"


@contextmanager
def validated_upload(*, upload: UploadedFile | None, kind: MediaKind, limits: MediaLimits) -> Iterator[tuple[Path, MediaInfo]]:
    """Yield the validated temporary file and what it is; the temporary file is removed afterwards."""
    if upload is None:
        raise MediaError("No file was sent.", code="media_missing")
    received = receive_upload(upload.chunks(), kind=kind, limits=limits,
                              dest_dir=settings.ENCORE_WORK_DIR / "uploads", validator=_isolated_validator)
    try:
        yield received.path, received.info
    finally:
        received.path.unlink(missing_ok=True)


def _isolated_validator(path: str | os.PathLike[str], *, kind: MediaKind, limits: MediaLimits) -> MediaInfo:
    return validate_isolated(path, kind=kind, limits=limits, memory_mb=settings.ENCORE_MEDIA_VALIDATE_MEMORY_MB)


class HasFile(Protocol):
    file: FieldFile

    def save(self, *, update_fields: list[str]) -> None: ...


RowT = TypeVar("RowT", bound=HasFile)


def accept_upload(*, upload: UploadedFile | None, kind: MediaKind, limits: MediaLimits,
                  create_row: Callable[[MediaInfo, str], RowT], storage_stem: Callable[[RowT], str]) -> RowT:
    """Validate an upload, create its row and store the file, all or nothing.

    ``create_row(info, original_name)`` makes the row (inside the transaction); the file is stored
    as ``storage_stem(row)`` plus the extension of what the content really is.
    """
    with validated_upload(upload=upload, kind=kind, limits=limits) as (path, info):
        stored: list[str] = []
        try:
            with transaction.atomic():
                row = create_row(info, (upload.name if upload is not None else "") or "")
                stored.append(store_file(source=path, name=storage_stem(row) + extension_for(info)))
                row.file.name = stored[0]
                row.save(update_fields=["file"])
        except BaseException:
            delete_stored(stored)
            raise
    return row


def store_file(*, source: Path, name: str) -> str:
    """Copy a local file into the default storage (local disk or S3); returns the stored name."""
    with source.open("rb") as fh:
        return default_storage.save(name, File(fh))


def delete_stored(names: list[str]) -> None:
    for name in names:
        if name and default_storage.exists(name):
            default_storage.delete(name)




def serve_stored(*, name: str, download_name: str | None = None, as_attachment: bool = False) -> HttpResponseBase:
    """Answer with a stored file. Callers check ownership first: media is never public by URL.

    On local disk the file is streamed (with Range support for players); on S3 the answer is a
    redirect to a short-lived signed URL.
    """
    if not name or not default_storage.exists(name):
        raise Http404("No such file")
    if not isinstance(default_storage, FileSystemStorage):
        return HttpResponseRedirect(default_storage.url(name))
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type, as_attachment=as_attachment,
                            filename=download_name or Path(name).name)
    response["Accept-Ranges"] = "bytes"
    return response
