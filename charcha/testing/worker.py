"""Challenge batches analysed by one background thread, as a Celery worker analyses them.

Eager tasks analyse each batch inside its upload request, so a page's next batch waits for the
last one's analysis; a real deployment hands the batch to a worker and answers at once. Tests in a
browser and the live bench use this thread instead, so that capture keeps real time. Test and bench
material only: the server never imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import charcha.services as services


@contextmanager
def background_analysis() -> Iterator[list[Future[bool]]]:
    """Route ``services._enqueue_analysis`` to one thread of this process while the block runs.

    Yields the analyses submitted so far; on leaving, waits for every one and re-raises the first
    that failed, so a broken analysis fails its caller instead of vanishing in the thread.
    """
    from django.db import connection

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charcha-analysis")
    submitted: list[Future[bool]] = []

    def analyse(batch_id: int) -> bool:
        try:
            # Looked up at call time: a bench may have wrapped it to time each analysis.
            return services.challenge_batch_analyse(batch_id=batch_id)
        finally:
            # The thread's own connection; left open, it would outlive a test database.
            connection.close()

    enqueue = services._enqueue_analysis
    services._enqueue_analysis = lambda batch_id: submitted.append(pool.submit(analyse, batch_id))  # type: ignore[assignment]
    try:
        yield submitted
    finally:
        services._enqueue_analysis = enqueue  # type: ignore[assignment]
        pool.shutdown(wait=True)
    for future in submitted:
        future.result()
