"""Settings for every environment; production differs only through environment variables."""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Production sets SECRET_KEY; without it (and without DEBUG) nothing starts, rather than signing sessions
# with a key everyone can read. `manage.py` and `make run` make and keep a local one (see local_key.py).
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (50 or more random characters); "
            "for local use, `make run` and `manage.py` create one in var/secret_key."
        )
    SECRET_KEY = "insecure-debug-only-key"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Serving over HTTPS (README, "Production settings"): each is off by default, so a local run over plain
# HTTP keeps working, and turned on from the environment. `check --deploy` is clean with them on.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Only behind a proxy that sets X-Forwarded-Proto itself: trusted otherwise, a client could claim HTTPS.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The API's IP allowlist reads the client's address from REMOTE_ADDR. Behind reverse proxies that append to
# X-Forwarded-For, set this to how many there are (`true` means one): the address is then read that many entries
# from the header's right end. Never set it without such a proxy: a client could claim any address.
_trust_xff = env_str("API_TRUST_X_FORWARDED_FOR", "").strip().lower()
API_TRUST_X_FORWARDED_FOR = (
    1 if _trust_xff in ("true", "yes", "on") else 0 if _trust_xff in ("", "false", "no", "off") else int(_trust_xff)
)
# How long each process keeps the IP allowlist it read (apps.security.selectors.allowed_networks).
IP_ALLOWLIST_CACHE_SECONDS = env_int("IP_ALLOWLIST_CACHE_SECONDS", 5)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.security",
    "apps.catalog",
    "apps.activity",
    "apps.scorecards",
    "apps.integrations",
    "apps.exemptions",
    "apps.evaluations",
    "apps.campaigns",
    "apps.notifications",
    "apps.reports",
    "apps.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "apps.core.middleware.RejectNulCharactersMiddleware",
    "apps.api.middleware.IpAllowlistMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Content-Security-Policy on every response (django-csp; README, "Security headers"). Scripts come only from
# this site's static files (htmx, Chart.js, the pages' own files under static/js, Swagger UI from the sidecar):
# no inline <script>, no on*= handlers, no eval. Style sheets and <style> elements likewise come only from
# this site. Only style="" attributes are allowed inline (style-src-attr), because they carry data that no
# static sheet can: each level's colour, chosen in its scorecard's descriptor, and the widths of the
# level-distribution bars. An attribute cannot load anything from elsewhere (img-src and font-src stay 'self').
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# Both vendor APIs use paths without a trailing slash; a redirect would break their POSTs.
APPEND_SLASH = False

ROOT_URLCONF = "scorecards_site.urls"
WSGI_APPLICATION = "scorecards_site.wsgi.application"
ASGI_APPLICATION = "scorecards_site.asgi.application"

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
                "apps.exemptions.context_processors.exemption_inbox",
            ],
        },
    },
]

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))
# The SQLite file, the no-server broker's folders and the git cache live here.
DATA_DIR.mkdir(parents=True, exist_ok=True)

# PostgreSQL in production (DATABASE_URL=postgres://user@host:5432/name); a SQLite file otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'scorecards.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes.
    # IMMEDIATE takes the write lock when a transaction starts, so a worker and the web process wait
    # for each other instead of failing with "database is locked" halfway through.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Let anyone read scores and reports without signing in (badges are always public).
PUBLIC_READ = env_bool("PUBLIC_READ", False)
# Every other reader needs at least the Viewer role; the 403 page tells a user without one whom to ask: this
# text (a team, a channel, an address) when set, and the first Admins.
ACCESS_REQUEST_CONTACT = env_str("ACCESS_REQUEST_CONTACT", "")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"

REDIS_URL = env_str("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: Redis in production (CELERY_BROKER_URL=redis://127.0.0.1:6379/0). Without it the
# filesystem transport needs no server, so a bare machine still runs the whole product.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
# A message whose worker died is delivered again after this long (Redis keeps it unacknowledged).
# Workers look for such messages every 10 s: kombu's default sweeps only every 10th tick (about every
# 100 s), which would leave a dead worker's last messages waiting well past the visibility timeout.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, int | str] = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    # A worker restores under a lock in Redis; one killed while holding it blocks every restore until the
    # lock expires (kombu's default, 300 s). The worker tests kill workers, so they shorten it.
    "unacked_mutex_expire": env_int("CELERY_UNACKED_MUTEX_EXPIRE", 300),
}
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = DATA_DIR / "celery-queue"
    for _folder in (_queue_dir, DATA_DIR / "celery-control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(DATA_DIR / "celery-control"),
    }
CELERY_TASK_IGNORE_RESULT = True
# No result backend, so beat needs no result-cleanup task.
CELERY_RESULT_EXPIRES = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "scorecards")
# Tasks go to the workers (make run starts one); true runs them in the caller, for scripts.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "scorecards@localhost")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(DATA_DIR / "sent-mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)

# Domain settings.
EXEMPTIONS_ADMINS_MAY_APPROVE_OWN = env_bool("EXEMPTIONS_ADMINS_MAY_APPROVE_OWN", False)
# Where people reach this site: emails link to its pages with absolute URLs built on it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Where `load_demo` creates its local git repositories.
DEMO_REPOS_DIR = Path(env_str("DEMO_REPOS_DIR", str(DATA_DIR / "demo-repos")))
# Where git facts are cloned to when an entity names a remote repository.
GIT_CACHE_DIR = Path(env_str("GIT_CACHE_DIR", str(DATA_DIR / "git-cache")))
INTEGRATION_TIMEOUT_SECONDS = env_int("INTEGRATION_TIMEOUT_SECONDS", 20)
# Cloning or fetching one remote repository may take this long before its git facts become errors.
GIT_TIMEOUT_SECONDS = env_int("GIT_TIMEOUT_SECONDS", 300)
# Bounds on one jq program of a rule (jq(value, "program")): past either, the rule is an error that says so.
JQ_TIMEOUT_SECONDS = env_int("JQ_TIMEOUT_SECONDS", 2)
JQ_MEMORY_MB = env_int("JQ_MEMORY_MB", 512)
SONARQUBE_URL = env_str("SONARQUBE_URL", "")
SONARQUBE_TOKEN = env_str("SONARQUBE_TOKEN", "")
PROMETHEUS_URL = env_str("PROMETHEUS_URL", "")
# Entities per chunk task; bounds memory and the length of one transaction.
EVALUATION_CHUNK_SIZE = env_int("EVALUATION_CHUNK_SIZE", 500)
# A run that makes no progress for this long is resumed by the dispatcher (its worker likely died).
EVALUATION_LEASE_SECONDS = env_int("EVALUATION_LEASE_SECONDS", 600)
EVALUATION_MAX_RESUMES = env_int("EVALUATION_MAX_RESUMES", 3)
# After a write changes a score's inputs, wait this long for more changes before re-scoring them together.
RESCORE_DEBOUNCE_SECONDS = env_int("RESCORE_DEBOUNCE_SECONDS", 2)
SCORE_HISTORY_RETENTION_DAYS = env_int("SCORE_HISTORY_RETENTION_DAYS", 400)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "apps.api.schema.ApiAutoSchema",
}

# How long a campaign's scope membership (a rule-language expression over every entity) stays cached; a beat
# task recomputes it every 5 minutes, so pages read it from the cache.
CAMPAIGN_SCOPE_CACHE_SECONDS = env_int("CAMPAIGN_SCOPE_CACHE_SECONDS", 600)

# Requests per API key (or per user for browser sessions) on both APIs, "<n>/<second|minute|hour|day>", in a
# sliding window counted atomically in Redis when REDIS_URL is set (shared by every web process), else in each
# process's memory (apps.api.throttling). Empty turns rate limiting off.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "1200/minute")
# Where the counters live in Redis: `<prefix>:throttle_api_<key-id|user-id|ip>`.
API_RATE_LIMIT_KEY_PREFIX = env_str("API_RATE_LIMIT_KEY_PREFIX", "scorecards:ratelimit")

SPECTACULAR_SETTINGS = {
    "TITLE": "Scorecards API",
    "DESCRIPTION": (
        "Two APIs over the same data: a Cortex-compatible v1 API (`/api/v1`, used by `cortexapps-cli`) and a "
        "Datadog-compatible v2 Scorecards API (`/api/v2/scorecard`, used by `datadog-api-client`). "
        "Authenticate with `Authorization: Bearer <API key>`; create keys on your profile page."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v[12]",
    "TAGS": [
        {"name": "Cortex v1", "description": "Compatible with Cortex's v1 REST API and `cortexapps-cli`."},
        {"name": "Datadog v2", "description": "Compatible with Datadog's v2 Scorecards API and `datadog-api-client`."},
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
