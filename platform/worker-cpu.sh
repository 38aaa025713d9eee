#!/usr/bin/env bash
# CPU worker: verification, song analysis, compositor renders, soundtracks.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/celery -A config worker -Q cpu --concurrency "${CPU_WORKER_CONCURRENCY:-2}" \
  --prefetch-multiplier 1 -n "cpu@%h" -l "${CELERY_LOG_LEVEL:-INFO}"
