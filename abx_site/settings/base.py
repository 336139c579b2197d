"""ABX Ops settings: one environment-driven module (12-factor).

Production differs from development by environment values only; see `.env.example`.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-key-change-me")
else:
    # A missing key in production is an error, never a silent default.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "django_htmx",
    "simple_history",
    "import_export",
    "axes",
    "abx_site.common",
    "accounts",
    "signals",
    "metrics",
    "playbooks",
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
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its refusal page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "abx_site.urls"
WSGI_APPLICATION = "abx_site.wsgi.application"

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

# Database: SQLite by default (zero set-up), PostgreSQL with DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE takes the write
    # lock at BEGIN, so two writers queue on the busy timeout instead of failing with
    # "database is locked" when a read transaction tries to upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=20000;"
            "PRAGMA foreign_keys=ON;"
        ),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT: it compiles a large query before running it, and the evaluation's one
    # query over every account (fifty playbooks' conditions) took longer to compile
    # (~20 s at 100,000 accounts) than to run; the app's other queries are too short
    # to gain from it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "abx"}
}

# Login failures are limited per username and address (django-axes): after
# ABX_LOGIN_FAILURE_LIMIT failures that pair is refused for ABX_LOGIN_COOLOFF_MINUTES,
# even with the right password. Per pair, so that nobody can lock a colleague out from
# elsewhere and one office behind one address is not locked out by one person.
AUTHENTICATION_BACKENDS = [
    "abx_site.common.auth.LoginLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ABX_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ABX_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# The staff pages' own login; the admin keeps its login page too.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "pages:account-list"

EMAIL_CONFIG = env.email_url("DJANGO_EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="abx-ops@localhost")

# Security: strict by default when not in debug (`manage.py check --deploy` is clean).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# The ingestion API takes batches of up to 5,000 signals and 5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "abx_site.common.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["abx_site.common.api.permissions.HasScope"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "abx_site.common.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "abx_site.common.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": ["abx_site.common.api.throttling.ApiRateThrottle"],
    "DEFAULT_PARSER_CLASSES": [
        "abx_site.common.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# Requests per API key (or staff user), and per address for callers with neither, counted
# in the cache (shared through Redis when REDIS_URL is set). Empty turns the limit off.
ABX_API_THROTTLE_RATE = env.str("ABX_API_THROTTLE_RATE", default="3000/min")
ABX_API_ANON_THROTTLE_RATE = env.str("ABX_API_ANON_THROTTLE_RATE", default="1200/min")

SPECTACULAR_SETTINGS = {
    "TITLE": "ABX Ops API",
    "DESCRIPTION": (
        "Accounts, signals, scores, playbooks and their execution. Authenticate with "
        "`Authorization: Api-Key <key>`; each endpoint names the scope it needs."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Schema and docs: staff sessions and any valid API key (see StaffOrAnyApiKey).
    "SERVE_PERMISSIONS": ["abx_site.common.api.permissions.StaffOrAnyApiKey"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The API key scheme comes from abx_site/common/api/schema.py, per view, so
    # endpoints that take no key (signed webhooks) do not claim to need one.
    "ENUM_NAME_OVERRIDES": {
        "AccountStageEnum": "accounts.choices.Stage",
        "DealStageEnum": "accounts.choices.DealStage",
        "DealStatusEnum": "accounts.choices.DealStatus",
        "PlaybookStatusEnum": "playbooks.choices.PlaybookStatus",
        "ActivationStatusEnum": "playbooks.choices.ActivationStatus",
        "BacktestStatusEnum": "playbooks.choices.JobStatus",
        "TaskStatusEnum": "playbooks.choices_execution.TaskStatus",
    },
}

# Background work: django-q2 with the ORM broker, so a queued task survives a killed
# worker (it is only deleted once acknowledged) and commits with the transaction that
# queued it. A task that fails is not acknowledged either: a lost database connection (a
# restart, a failover) fails a task, and one-off tasks such as a review decision's
# re-resolution have no schedule to run them again. It is delivered again after
# `retry` seconds, like a killed worker's, until it succeeds or has been tried
# `max_attempts` times; every task is safe to run again (at least once, as after a killed
# worker).
Q_CLUSTER = {
    "name": "abx",
    "orm": "default",
    "workers": env.int("ABX_Q_WORKERS", default=2),
    "timeout": env.int("ABX_Q_TIMEOUT", default=1800),
    "retry": env.int("ABX_Q_RETRY", default=1860),
    "max_attempts": 5,
    "ack_failures": False,
    "catch_up": False,
    "poll": 1,
    "label": "Background tasks",
}

# ABX settings.
ABX_CURRENCY = env.str("ABX_CURRENCY", default="USD")
ABX_EVALUATION_MINUTES = env.int("ABX_EVALUATION_MINUTES", default=15)
ABX_SCORES_MINUTES = env.int("ABX_SCORES_MINUTES", default=60)
ABX_TOUCH_CAP = env.int("ABX_TOUCH_CAP", default=3)
ABX_DEFER_DAYS = env.int("ABX_DEFER_DAYS", default=14)
# Outbound webhooks refuse private, loopback and link-local addresses unless listed here.
ABX_WEBHOOK_ALLOWED_NETWORKS = env.list("ABX_WEBHOOK_ALLOWED_NETWORKS", default=[])
# Who gets a playbook's task when no one holds the step's role on the account (a username).
ABX_TASK_FALLBACK_OWNER = env.str("ABX_TASK_FALLBACK_OWNER", default="")
ABX_SIGNAL_RETENTION_DAYS = env.int("ABX_SIGNAL_RETENTION_DAYS", default=730)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
