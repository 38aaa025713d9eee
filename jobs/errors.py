from __future__ import annotations

from mediakit.errors import EncoreError


class JobLost(Exception):
    """This run no longer owns its job (another worker took it over): stop without writing."""


class JobNotFound(EncoreError):
    code = "job_not_found"
    http_status = 404
