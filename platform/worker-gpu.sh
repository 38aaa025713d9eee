#!/usr/bin/env bash
# GPU worker: training and diffusion renders. One task at a time, models loaded once per process.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/celery -A config worker -Q gpu --pool solo --concurrency 1 \
  --prefetch-multiplier 1 -n "gpu@%h" -l "${CELERY_LOG_LEVEL:-INFO}"
