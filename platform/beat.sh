#!/usr/bin/env bash
# Periodic tasks (the job reconciler, retention erasure). Run exactly one per deployment.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/celery -A config beat -l "${CELERY_LOG_LEVEL:-INFO}" -s "${CELERY_BEAT_SCHEDULE_FILE:-var/celerybeat-schedule}"
