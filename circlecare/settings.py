"""circlecare settings: one module, configured from the environment.

Development needs nothing set: SQLite in the project folder, console e-mail, the in-memory channel layer.
Production (``CIRCLECARE_ENV=production``) refuses to start without ``SECRET_KEY`` and
``FIELD_ENCRYPTION_KEY`` and never runs with DEBUG on.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in env(name, default).split(",") if part.strip()]


ENVIRONMENT = env("CIRCLECARE_ENV", "development").lower()
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("CIRCLECARE_ENV must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

if PRODUCTION:
    missing = [name for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY") if not env(name)]
    if missing:
        raise ImproperlyConfigured(
            "Production settings need these environment variables: " + ", ".join(missing)
        )
    SECRET_KEY = env("SECRET_KEY")
    DEBUG = False
else:
    # A fixed development key keeps sessions valid across restarts; it never reaches production.
    SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-circlecare-0b7c1e0e5d6f4a2b")
    DEBUG = env_bool("DEBUG", True)

# 32 bytes, url-safe base64. The development key is public and only ever protects demo data.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", "ZGV2LW9ubHktZmllbGQta2V5LWNpcmNsZWNhcmUtMDE=")
# Older keys still accepted for reading while a rotation re-encrypts rows.
FIELD_ENCRYPTION_OLD_KEYS = env_list("FIELD_ENCRYPTION_OLD_KEYS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEMO_MODE = env_bool("DEMO_MODE", False)

INSTALLED_APPS = [
    "daphne",
    # Ahead of django.contrib.auth so that its changepassword command, which also signs the
    # account out everywhere and revokes its tokens, is the one manage.py runs.
    "circlecare.accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_htmx",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "circlecare.audit",
    "circlecare.practice",
    "circlecare.programs",
    "circlecare.enrollment",
    "circlecare.meetings",
    "circlecare.meetings.live",
    "circlecare.measures",
    "circlecare.care",
    "circlecare.clinic",
    "circlecare.inquiries",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "circlecare.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "circlecare.accounts.security.SessionPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "circlecare.middleware.ViewerTimezoneMiddleware",
    "circlecare.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "circlecare.urls"
WSGI_APPLICATION = "circlecare.wsgi.application"
ASGI_APPLICATION = "circlecare.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "circlecare" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["circlecare.templating"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "circlecare.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing at once with "database is locked": every
    # transaction takes the write lock when it begins (BEGIN IMMEDIATE), so two that read and then
    # write (a double-submitted "Take a seat") queue up for up to 20 s instead of deadlocking.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
else:
    # Seat changes lock one cohort row; a wait is bounded so a stuck lock becomes "busy, try again".
    DATABASES["default"].setdefault("OPTIONS", {})
    # No server-side cursors: they need the same connection across statements, which PgBouncer's
    # transaction pooling (deploy/README.md) does not give; and a form's choices or an iterator()
    # then cost one round trip instead of three (DECLARE, FETCH, CLOSE).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    # A pool of open connections per server process (psycopg_pool): a request borrows one instead
    # of starting a new PostgreSQL backend. 0 = a new connection per request. Needs
    # DATABASE_CONN_MAX_AGE=0; processes × size must stay under PostgreSQL's max_connections.
    _pool_size = int(env("DATABASE_POOL_MAX_SIZE", "0"))
    if _pool_size:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": _pool_size,
            "timeout": 10,  # seconds a request waits for a free connection before an error
        }
SEAT_LOCK_TIMEOUT_MS = int(env("SEAT_LOCK_TIMEOUT_MS", "3000"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "circlecare.accounts.validators.MaximumLengthValidator"},
]
# Django's and allauth's backends, each reading a request's user with a prepared statement.
AUTHENTICATION_BACKENDS = [
    "circlecare.accounts.backends.ModelBackend",
    "circlecare.accounts.backends.AuthenticationBackend",
]

# Accounts (django-allauth): e-mail only, verified before first login.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SIGNUP_FORM_CLASS = "circlecare.accounts.forms.SignupDetailsForm"
ACCOUNT_ADAPTER = "circlecare.accounts.adapters.AccountAdapter"
# The "Forgot your password?" link is shown after the submit button, not inside the password field.
ACCOUNT_FORMS = {
    "login": "circlecare.accounts.password_forms.LoginForm",
    "change_password": "circlecare.accounts.password_forms.ChangePasswordForm",  # nosec B105
}
# A password change keeps this browser signed in; every other session ends and every API token is
# revoked (circlecare.accounts.services).
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# "Your password was changed" and the like, to the account's address: they carry no more than the
# change, the IP address, the browser and the time.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "circlecare: "
ACCOUNT_RATE_LIMITS = {
    # SECURITY.md A3: five failed logins per account per 30 minutes, then a cool-off; a per-IP cap too.
    "login_failed": "20/m/ip,5/30m/key",
    "signup": "10/h/ip",
    "reset_password": "20/m/ip,5/h/key",  # nosec B105  # a rate, not a password
    # Deleting an account asks for the password: as many tries as a sign-in gets.
    "delete_account": "5/30m/user",
}
PASSWORD_RESET_TIMEOUT = 60 * 60
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "circlecare.accounts.adapters.MFAAdapter"
MFA_TOTP_ISSUER = "circlecare"
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

# SECURITY.md A4/A5: second factor for staff roles; idle and absolute session limits (seconds).
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", True)
IDLE_TIMEOUT_STAFF = 15 * 60
IDLE_TIMEOUT_MEMBER = 30 * 60
SESSION_ABSOLUTE_LIMIT = 12 * 60 * 60
LOGIN_URL_PATH = "/accounts/login/"
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIMIT
# Django's database sessions, read with a prepared statement.
SESSION_ENGINE = "circlecare.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-us"
#: The interface is written in English only. With a second language here, a browser asking for it
#: got Django's and allauth's own words translated around our English ones, in a page marked as that
#: language (read aloud with the wrong voice). A member's preferred language for contact is
#: ``User.language``; the clinicians who reach out see it.
LANGUAGES = [("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "circlecare" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production, serve static files straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG and not PRODUCTION
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# E-mail: the console in development, SMTP in production.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "circlecare <hello@circlecare.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
COORDINATOR_EMAILS = env_list("COORDINATOR_EMAILS")
if PRODUCTION:
    # Django's SMTP backend, with the server's refusals kept free of addresses.
    EMAIL_BACKEND = env("EMAIL_BACKEND", "circlecare.mailing.SMTPBackend")
else:
    EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "587"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 20

REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "circlecare.meetings.live.layers.RoomChannelLayer",
            # The layer waits up to 5 s in a blocking pop; the socket must wait longer than that.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                # A busy room sends bursts of small messages; the default of 100 queued per
                # channel is too few for a dozen people under load.
                "capacity": 1000,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }

# The live room: browsers connect to each other directly (a WebRTC mesh). STUN lets them find their
# public addresses; TURN relays media for networks that block direct connections. ICE_SERVERS is
# handed as it is to each person let into a room: JSON, e.g.
# [{"urls": "stun:stun.example.org:3478"}]. Empty: direct host connections only (enough on one
# machine or network).
ICE_SERVERS = json.loads(env("ICE_SERVERS", "[]"))
# TURN with credentials of its own for each person let into a room, valid until the meeting is over
# (circlecare/meetings/live/turn.py): coturn's use-auth-secret, its static-auth-secret the same as
# TURN_SECRET. TURN_URLS is a JSON list, e.g. ["turn:turn.example.org:3478?transport=udp",
# "turns:turn.example.org:5349?transport=tcp"]. Without a secret, nobody is given TURN credentials
# (beyond any in ICE_SERVERS). However long a meeting is planned to last, no credential is valid for
# longer than TURN_CREDENTIAL_MAX_SECONDS from when it is given.
TURN_SECRET = env("TURN_SECRET", "")
TURN_URLS = json.loads(env("TURN_URLS", "[]"))
TURN_CREDENTIAL_MAX_SECONDS = int(env("TURN_CREDENTIAL_MAX_SECONDS", str(4 * 3600)))
ROOM_RECHECK_SECONDS = float(env("ROOM_RECHECK_SECONDS", "3"))
ROOM_MAX_PEERS = int(env("ROOM_MAX_PEERS", "10"))
# A browser in the room says it is still there every ROOM_PRESENCE_SEEN_SECONDS, and the server
# writes down when it last heard from someone at most that often. Someone not heard from for
# ROOM_PRESENCE_STALE_SECONDS (a crashed server process, a dead network) no longer takes a place
# in the room. The stale limit must leave room for two missed beats and a slow network.
ROOM_PRESENCE_SEEN_SECONDS = float(env("ROOM_PRESENCE_SEEN_SECONDS", "15"))
ROOM_PRESENCE_STALE_SECONDS = float(env("ROOM_PRESENCE_STALE_SECONDS", "90"))
# How long the room waits on a video connection that has gone quiet before asking over the socket
# whether the person is still there, and how long they have to answer. Grace > answer.
ROOM_GRACE_SECONDS = float(env("ROOM_GRACE_SECONDS", "15"))
ROOM_ANSWER_SECONDS = float(env("ROOM_ANSWER_SECONDS", "5"))

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Finished background tasks keep their arguments, result or error in the task table: which member
# was sent which e-mail and when, and a failed send's error may name an address. A daily task
# (circlecare/task_history.py) removes successful ones this many days after they finished, and
# failed ones, which someone may still need to look into, after the longer period.
TASK_RESULTS_KEEP_DAYS = int(env("TASK_RESULTS_KEEP_DAYS", "14"))
TASK_FAILURES_KEEP_DAYS = int(env("TASK_FAILURES_KEEP_DAYS", "30"))
if TASK_RESULTS_KEEP_DAYS < 1 or TASK_FAILURES_KEEP_DAYS < 1:
    raise ImproperlyConfigured(
        "TASK_RESULTS_KEEP_DAYS and TASK_FAILURES_KEEP_DAYS must be whole numbers of days, 1 or more."
    )

# Seats: how long a freed seat is held for the next person on the waiting list.
OFFER_HOLD = timedelta(hours=int(env("OFFER_HOLD_HOURS", "48")))

# Coordinators hear about a cohort still under its minimum size this many days before it starts.
COHORT_MIN_SIZE_ALERT_DAYS = int(env("COHORT_MIN_SIZE_ALERT_DAYS", "7"))

# Contact form: at most this many inquiries per hour from one address.
INQUIRY_RATE_PER_HOUR = int(env("INQUIRY_RATE_PER_HOUR", "5"))

# Security headers (SECURITY.md D4).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

#: Error reports hide every submitted value and variable outside DEBUG (circlecare/reporting.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "circlecare.reporting.NoSubmittedTextFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
