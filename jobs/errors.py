from __future__ import annotations

from mediakit.errors import EncoreError


class JobLost(Exception):
    """This run no longer owns its job (another worker took it over): stop without writing."""


class JobCancelled(Exception):
    """The user asked to cancel this job: the run stops at its next progress report."""


class JobNotFound(EncoreError):
    code = "job_not_found"
    http_status = 404


class RateLimited(EncoreError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class JobStateError(EncoreError):
    code = "job_finished"
    http_status = 409


# Every code the jobs app records or answers with, and what it tells a person.
ERROR_CODES: dict[str, str] = {
    "job_not_found": "No such job.",
    "not_found": "No such object (under /api/, any address that does not exist).",
    "job_finished": "The job has already ended.",
    "rate_limited": "Too many requests of this kind; try again after the time given.",
    "attempts_exhausted": "The work was interrupted too many times; we gave up.",
    "timeout": "The work took longer than allowed.",
    "internal_error": "Something went wrong on our side.",
    "transient": "A service was briefly unavailable; retried and gave up.",
}
