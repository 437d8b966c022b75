"""Settings for bugstack, all read from the environment (see README, "Configuration")."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment "
            "(or DEBUG=1 for a development-only default)."
        )
    SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - used only with DEBUG=1

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Served over HTTPS by a proxy in front: secure cookies, HSTS, and plain HTTP redirected, except the health
# check, which load balancers probe over plain HTTP. The proxy must set X-Forwarded-Proto itself.
BUGSTACK_HTTPS = env.bool("BUGSTACK_HTTPS", default=False)
if BUGSTACK_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("BUGSTACK_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("BUGSTACK_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("BUGSTACK_HSTS_PRELOAD", default=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "django_q",
    "bugstack",
    "ingest",
    "pipeline",
    "integrations",
    "dashboard",
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
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bugstack.urls"
WSGI_APPLICATION = "bugstack.wsgi.application"
ASGI_APPLICATION = "bugstack.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# The embedded default is an SQLite file under var/; production sets DATABASE_URL=postgres://…
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bugstack.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and qcluster read while the other writes; the timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    VAR_DIR.mkdir(exist_ok=True)
    # A file, not memory, so end-to-end tests can share the test database with a real qcluster process.
    # One per test process, so concurrent test runs never share (and delete) each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-bugstack-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins lock out both the address and the username they came with, each on its own, for a while.
AXES_FAILURE_LIMIT = env.int("BUGSTACK_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("BUGSTACK_LOGIN_LOCKOUT_SECONDS", default=15 * 60))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dashboard.views.login_locked_out"
# Behind a proxy every request comes from the proxy's address: name the header the proxy sets to the
# client's address. Unset, only the connection's own address counts, whatever headers a client sends.
BUGSTACK_CLIENT_IP_HEADER = env.str("BUGSTACK_CLIENT_IP_HEADER", default="")
AXES_CLIENT_IP_CALLABLE = "bugstack.client_ip.client_ip"

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
# whitenoise serves the apps' static files from where they are, with no collectstatic step. STATIC_ROOT
# is for a proxy that should serve them instead: set it, then run `manage.py collectstatic`.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = env.str("STATIC_ROOT", default="") or None
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://bugstack")}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "bugstack API",
    "DESCRIPTION": "Runtime errors in, pull requests with tested fixes out.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- bugstack -------------------------------------------------------------------------------------------

# The address SDKs and people reach this server at: used in DSNs and in links inside pull requests.
BUGSTACK_BASE_URL = env.str("BUGSTACK_BASE_URL", default="http://localhost:8000").rstrip("/")

# Comma-separated "key_id:base64(32 bytes)" entries; the first encrypts, all decrypt (bugstack/crypto.py).
BUGSTACK_ENCRYPTION_KEYS = env.list("BUGSTACK_ENCRYPTION_KEYS", default=[])

BUGSTACK_GITHUB_API_URL = env.str("BUGSTACK_GITHUB_API_URL", default="https://api.github.com").rstrip("/")
# PyGithub paces requests (0.25 s) and writes (1 s) for GitHub's secondary rate limits; off against the fake.
BUGSTACK_GITHUB_PACING = env.bool("BUGSTACK_GITHUB_PACING", default=True)
# Seconds per GitHub request; further tries after 5xx/timeouts/rate limits; longest rate-limit wait in place.
BUGSTACK_GITHUB_TIMEOUT = env.int("BUGSTACK_GITHUB_TIMEOUT", default=15)
BUGSTACK_GITHUB_RETRIES = env.int("BUGSTACK_GITHUB_RETRIES", default=4)
BUGSTACK_GITHUB_MAX_WAIT = env.float("BUGSTACK_GITHUB_MAX_WAIT", default=60.0)
BUGSTACK_WEBHOOK_MAX_BYTES = env.int("BUGSTACK_WEBHOOK_MAX_BYTES", default=5 * 1024 * 1024)
# The local code host's CI: the project's test command, killed after this many seconds.
BUGSTACK_LOCAL_CI_TIMEOUT = env.int("BUGSTACK_LOCAL_CI_TIMEOUT", default=600)

ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
BUGSTACK_ANTHROPIC_MODEL = env.str("BUGSTACK_ANTHROPIC_MODEL", default="claude-sonnet-4-5")
# Seconds one model request may take (connecting: at most 10).
BUGSTACK_ANTHROPIC_TIMEOUT = env.float("BUGSTACK_ANTHROPIC_TIMEOUT", default=180.0)

# Who proposes fixes for projects that do not choose: "rules", "anthropic", "openai", or empty for Anthropic
# when a key is set and the offline rules otherwise.
BUGSTACK_FIX_PROVIDER = env.str("BUGSTACK_FIX_PROVIDER", default="")
if BUGSTACK_FIX_PROVIDER not in ("", "rules", "anthropic", "openai"):
    raise ImproperlyConfigured(
        f"BUGSTACK_FIX_PROVIDER={BUGSTACK_FIX_PROVIDER!r} is not understood: use 'rules', 'anthropic', "
        "'openai' or leave it empty."
    )
# The server's key for OpenAI-compatible projects without a key of their account's own. It is sent only to
# the server's own address (OPENAI_BASE_URL, read by the openai SDK, or OpenAI's API), never to an address
# a project sets.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
# Model for OpenAI-compatible projects that name none.
BUGSTACK_OPENAI_MODEL = env.str("BUGSTACK_OPENAI_MODEL", default="gpt-4.1")

# --- pipeline -------------------------------------------------------------------------------------------

# A worker holds a run's stage this long; past it (the worker died) the poll hands the stage to another.
BUGSTACK_STAGE_LEASE_SECONDS = env.int("BUGSTACK_STAGE_LEASE_SECONDS", default=300)
# A stage queued but not started for this long is queued again (a broker can lose a task).
BUGSTACK_STUCK_SECONDS = env.int("BUGSTACK_STUCK_SECONDS", default=120)
# A stage started this many times without finishing (its worker keeps dying) ends the run.
BUGSTACK_MAX_STAGE_ATTEMPTS = env.int("BUGSTACK_MAX_STAGE_ATTEMPTS", default=3)
# Transient outside errors (network, 5xx, rate limits, overload) are retried this many times per stage.
BUGSTACK_TRANSIENT_RETRIES = env.int("BUGSTACK_TRANSIENT_RETRIES", default=3)
BUGSTACK_TRANSIENT_BACKOFF_SECONDS = env.float("BUGSTACK_TRANSIENT_BACKOFF_SECONDS", default=2.0)
# A model outage past those retries parks the run (waiting_for_model); it asks again after the backoff,
# carried on and doubling, never waiting longer than this between two tries.
BUGSTACK_MODEL_WAIT_MAX_SECONDS = env.int("BUGSTACK_MODEL_WAIT_MAX_SECONDS", default=30 * 60)
# A repository that reports no CI check at all: wait this long for one, then ask for review.
BUGSTACK_CI_NONE_GRACE_SECONDS = env.int("BUGSTACK_CI_NONE_GRACE_SECONDS", default=600)
BUGSTACK_REVIEW_POLL_SECONDS = env.int("BUGSTACK_REVIEW_POLL_SECONDS", default=300)
# A run not in review and not moving for this long is ended by the reaper.
BUGSTACK_RUN_DEADLINE_SECONDS = env.int("BUGSTACK_RUN_DEADLINE_SECONDS", default=6 * 3600)
# A merged fix counts as verified once its code ran this long without the error coming back.
BUGSTACK_VERIFY_QUIET_SECONDS = env.int("BUGSTACK_VERIFY_QUIET_SECONDS", default=24 * 3600)

# --- django-q2 ------------------------------------------------------------------------------------------

BUGSTACK_BROKER = env.str("BUGSTACK_BROKER", default="orm")
BUGSTACK_SYNC_TASKS = env.bool("BUGSTACK_SYNC_TASKS", default=False)

Q_CLUSTER = {
    "name": "bugstack",
    "workers": env.int("BUGSTACK_WORKERS", default=2),
    # A stage's slowest step is a CI run of the local test command (10 min cap) or a model call.
    "timeout": 900,
    # retry must exceed timeout, or a task still running would be handed to a second worker.
    "retry": 960,
    "max_attempts": 3,
    "ack_failures": True,
    "save_limit": 250,
    "catch_up": False,
    "poll": 0.2,
    "sync": BUGSTACK_SYNC_TASKS,
    "label": "Task queue",
}
if BUGSTACK_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
elif BUGSTACK_BROKER.startswith(("redis://", "rediss://", "unix://")):
    Q_CLUSTER["redis"] = BUGSTACK_BROKER
else:
    raise ImproperlyConfigured(
        f"BUGSTACK_BROKER={BUGSTACK_BROKER!r} is not understood: use 'orm' or a redis:// URL."
    )

# --- ingest ---------------------------------------------------------------------------------------------

# Largest event body accepted, measured after decompression.
BUGSTACK_INGEST_MAX_BYTES = env.int("BUGSTACK_INGEST_MAX_BYTES", default=1024 * 1024)
# A batch of native events (``/api/v1/events/batch/``, what the Go and Ruby SDKs send when events queue up):
# the whole body after decompression, and its events.
BUGSTACK_BATCH_MAX_BYTES = env.int("BUGSTACK_BATCH_MAX_BYTES", default=20 * 1024 * 1024)
BUGSTACK_BATCH_MAX_EVENTS = env.int("BUGSTACK_BATCH_MAX_EVENTS", default=100)
# Sentry envelopes (``/api/<project id>/envelope/``): the whole body after decompression, and its items. Each
# event item is held to BUGSTACK_INGEST_MAX_BYTES like a native event.
BUGSTACK_ENVELOPE_MAX_BYTES = env.int("BUGSTACK_ENVELOPE_MAX_BYTES", default=20 * 1024 * 1024)
BUGSTACK_ENVELOPE_MAX_ITEMS = env.int("BUGSTACK_ENVELOPE_MAX_ITEMS", default=100)
# How long a web process gathers its counts of envelope items not stored before it writes them.
BUGSTACK_DROPPED_FLUSH_SECONDS = env.float("BUGSTACK_DROPPED_FLUSH_SECONDS", default=10.0)
# How long a web process trusts its cached view of a project key (deactivation takes effect within it).
BUGSTACK_KEY_CACHE_SECONDS = env.int("BUGSTACK_KEY_CACHE_SECONDS", default=60)
# Accepted events wait in the spool for digest (ingest/spool.py): files each web process appends to, in this
# directory, which every digest worker must see (the web servers' own disk). A file is closed for a new one
# past SPOOL_FILE_BYTES, and deleted once digested. With SPOOL_FSYNC, a request is answered only once its
# events are on the disk (fdatasync): a machine's crash then loses nothing answered either, at a cost per
# request; without it, once in the operating system's cache, which a process's crash does not lose.
BUGSTACK_SPOOL_DIR = Path(env.str("BUGSTACK_SPOOL_DIR", default=str(VAR_DIR / "spool")))
BUGSTACK_SPOOL_FILE_BYTES = env.int("BUGSTACK_SPOOL_FILE_BYTES", default=64 * 1024 * 1024)
BUGSTACK_SPOOL_FSYNC = env.bool("BUGSTACK_SPOOL_FSYNC", default=False)
# Digest takes the spool's events in batches of this many. Past BACKLOG_BYTES of events waiting in the spool,
# accept answers 429 with Retry-After instead of growing it; a web process looks at most every CHECK_SECONDS.
BUGSTACK_DIGEST_BATCH = env.int("BUGSTACK_DIGEST_BATCH", default=500)
BUGSTACK_INGEST_BACKLOG_BYTES = env.int("BUGSTACK_INGEST_BACKLOG_BYTES", default=1024 * 1024 * 1024)
BUGSTACK_INGEST_BACKLOG_CHECK_SECONDS = env.float("BUGSTACK_INGEST_BACKLOG_CHECK_SECONDS", default=1.0)
# How digest is started after an event is accepted: "queue" (a django-q2 task, at most one kick per web
# process every DIGEST_KICK_SECONDS, and a schedule every minute), "loop" (nothing: `manage.py digest`
# workers poll for accepted events) or "inline" (by the accepting request once its events are spooled: tests).
BUGSTACK_DIGEST = env.str("BUGSTACK_DIGEST", default="queue")
BUGSTACK_DIGEST_KICK_SECONDS = env.float("BUGSTACK_DIGEST_KICK_SECONDS", default=0.5)
if BUGSTACK_DIGEST not in ("queue", "loop", "inline"):
    raise ImproperlyConfigured(
        f"BUGSTACK_DIGEST={BUGSTACK_DIGEST!r} is not understood: use 'queue', 'loop' or 'inline'."
    )
# With no release on events, a fixed error seen again within this time is old code still deployed.
BUGSTACK_REGRESSION_GRACE_SECONDS = env.int("BUGSTACK_REGRESSION_GRACE_SECONDS", default=24 * 3600)

# --- web server (bugstack/serving.py, `manage.py serve`) ---------------------------------------------------

BUGSTACK_WEB_WORKERS = env.int("BUGSTACK_WEB_WORKERS", default=2)
BUGSTACK_WEB_THREADS = env.int("BUGSTACK_WEB_THREADS", default=4)
# Seconds a client has to send its headers, then its whole body; past them it is cut off (the body: 408).
BUGSTACK_WEB_HEADER_TIMEOUT = env.float("BUGSTACK_WEB_HEADER_TIMEOUT", default=10.0)
BUGSTACK_WEB_READ_TIMEOUT = env.float("BUGSTACK_WEB_READ_TIMEOUT", default=30.0)
# Largest request body the server reads at all: the largest any endpoint accepts (413 past it).
BUGSTACK_WEB_MAX_BODY_BYTES = max(
    BUGSTACK_INGEST_MAX_BYTES,
    BUGSTACK_BATCH_MAX_BYTES,
    BUGSTACK_ENVELOPE_MAX_BYTES,
    BUGSTACK_WEBHOOK_MAX_BYTES,
    global_settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
)
# Request bodies one web process holds at once, read or being read; past it new ones are refused (503).
BUGSTACK_WEB_BUFFER_BYTES = env.int("BUGSTACK_WEB_BUFFER_BYTES", default=64 * 1024 * 1024)
