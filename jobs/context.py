"""The one context every job's run function receives: progress, a work folder, files in and out,
cancellation and a per-process model cache.

Run functions take it as their only argument (``def song_analysis_run(*, ctx: JobContext) -> dict``)
and pass plain pieces of it (``ctx.progress``, paths) into the Django-free engines.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from jobs.models import Job

if TYPE_CHECKING:
    from jobs.services import JobReporter

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ModelCache:
    """Loaded models kept for the life of the worker process, least recently used dropped first.

    Loading a diffusion pipeline takes longer than many jobs run, so a worker loads each model
    once (`gpu` workers run one task at a time, so the cache never holds two copies in a race).
    """

    def __init__(self, max_items: int = 4) -> None:
        self.max_items = max_items
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0

    def get(self, key: Hashable, loader: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[no-any-return]
            value = loader()
            self.loads += 1
            self._items[key] = value
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            return value

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


model_cache = ModelCache()


def job_work_dir(job_id: Any) -> Path:
    """Where a job's scratch files live: keyed by the job, so a re-run finds its checkpoints."""
    return Path(settings.ENCORE_WORK_DIR) / "jobs" / str(job_id)


class JobContext:
    """What one claimed run of a job may use. Built by ``jobs.services.job_execute``."""

    def __init__(self, *, job: Job, reporter: JobReporter | None = None, models: ModelCache | None = None) -> None:
        self.job = job
        self._reporter = reporter
        self.models = models or model_cache
        self.work_dir = job_work_dir(job.pk)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.stored: list[str] = []

    def progress(self, stage: str, fraction: float, message: str = "") -> None:
        """Report to the job row; raises JobCancelled once the user asked to cancel."""
        if self._reporter is not None:
            self._reporter(stage, fraction, message)

    def cancelled(self) -> bool:
        return Job.objects.filter(pk=self.job.pk, cancel_requested_at__isnull=False).exists()

    @contextmanager
    def local_copy(self, name: str) -> Iterator[Path]:
        """A stored file as a local path: its own path on local storage, a copy in the work folder
        (removed afterwards) from an object store."""
        try:
            local: Path | None = Path(default_storage.path(name))
        except NotImplementedError:
            local = None
        if local is not None:
            yield local
            return
        fetched = self.work_dir / "fetched"
        fetched.mkdir(parents=True, exist_ok=True)
        copy = fetched / Path(name).name
        try:
            with default_storage.open(name, "rb") as src, copy.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            yield copy
        finally:
            copy.unlink(missing_ok=True)

    def store_output(self, source: Path | bytes, name: str) -> str:
        """Save under exactly ``name``, replacing what a previous run of this job stored there."""
        if default_storage.exists(name):
            default_storage.delete(name)
        if isinstance(source, bytes):
            saved = default_storage.save(name, ContentFile(source))
        else:
            with Path(source).open("rb") as fh:
                saved = default_storage.save(name, File(fh, name=Path(name).name))
        self.stored.append(saved)
        return saved

    def discard_outputs(self) -> None:
        """Delete what this run stored (a cancelled or failed run leaves no output files)."""
        for name in self.stored:
            try:
                default_storage.delete(name)
            except Exception:  # best effort: a missing file is already what we want
                logger.warning("could not delete %s of job %s", name, self.job.pk, exc_info=True)
        self.stored.clear()

    def remove_work_dir(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)
