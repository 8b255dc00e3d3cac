"""Rapport's one settings module, driven by the environment.

Development needs nothing set: a SQLite file and a generated secret key live in the data
directory. Production (``RAPPORT_PRODUCTION=1``) requires ``SECRET_KEY`` and
``ALLOWED_HOSTS`` and turns on every ``check --deploy`` protection.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_secret(name: str) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/K8s secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, "")


BASE_DIR = Path(__file__).resolve().parent
PRODUCTION = env_bool("RAPPORT_PRODUCTION")
TESTING = "pytest" in sys.modules or env_bool("RAPPORT_TESTING")
DEBUG = env_bool("DEBUG") and not PRODUCTION

DATA_DIR = Path(env_str("RAPPORT_DATA_DIR", str(BASE_DIR.parent / "data"))).resolve()


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set in production")
    # Development: generate once and keep it, so sessions survive a restart.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1]")
if TESTING:
    ALLOWED_HOSTS += ["testserver"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "rapport.users.apps.RapportAdminConfig",  # django.contrib.admin, behind the app's login
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "rapport.core",
    "rapport.users",
    "rapport.audit",
    "rapport.customers",
    "rapport.ingest",
    "rapport.identity",
    "rapport.timeline",
    "rapport.followups",
    "rapport.sales",
    "rapport.service",
    "rapport.consent",
    "rapport.marketing",
    "rapport.surveys",
    "rapport.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CSRF and sessions: they read the body, which spools an upload whole.
    "rapport.ingest.limits.UploadSizeMiddleware",
    "rapport.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"

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
                "rapport.core.context_processors.rapport",
            ],
        },
    },
]

# Database: SQLite in the data directory unless DATABASE_URL says otherwise.
_default_sqlite = f"sqlite:///{DATA_DIR / 'rapport.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", _default_sqlite)
if DATABASE_URL.startswith("sqlite") and not TESTING:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer commits; FULL makes every commit durable.
        # mmap: pages are read straight from the OS cache, shared by every connection (the
        # screen pop at a million contacts: p99 10.6 ms to 7.9 ms once the pages are cached).
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
        f"PRAGMA mmap_size={env_int('SQLITE_MMAP_BYTES', 1024**3)};",
        # Take the write lock at BEGIN, so two writers queue instead of failing mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    if TESTING:
        # A file, not shared-cache memory: concurrency tests need SQLite's real locking.
        import tempfile

        DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"rapport_test_{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "users:login"
LOGIN_REDIRECT_URL = "customers:contact-list"
LOGOUT_REDIRECT_URL = "users:login"

# Login throttling: this many failures per username or per address in the window.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_PROXY"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Role policies and the data dictionary are cached per process for this long.
PROCESS_CACHE_SECONDS = 0 if TESTING else env_int("PROCESS_CACHE_SECONDS", 10)

# Imports: rows per transaction; processes that clean rows beside the one that writes (0:
# the writer cleans too), one core fewer than the machine has, so the writer keeps a core;
# and how long a silent run is presumed alive before another worker may resume it.
IMPORT_BATCH_ROWS = env_int("RAPPORT_IMPORT_BATCH_ROWS", 5000)
IMPORT_PROCESSES = env_int("RAPPORT_IMPORT_PROCESSES", 0 if TESTING else max(1, min((os.cpu_count() or 1) - 1, 4)))
# Processes comparing candidate pairs in a full duplicate scan (forked; 1 compares in the worker).
IDENTITY_SCAN_PROCESSES = env_int("RAPPORT_IDENTITY_SCAN_PROCESSES", 1 if TESTING else max(1, min(os.cpu_count() or 1, 4)))
IMPORT_STALE_SECONDS = env_int("RAPPORT_IMPORT_STALE_SECONDS", 120)
IMPORT_MAX_UPLOAD_BYTES = env_int("RAPPORT_IMPORT_MAX_UPLOAD_BYTES", 2 * 1024**3)
# An XLSX workbook may inflate to this much in all, and no part of it more than RATIO times
# its compressed size (spreadsheets inflate 5-20 times; a decompression bomb, 1,000).
IMPORT_XLSX_MAX_INFLATED_BYTES = env_int("RAPPORT_IMPORT_XLSX_MAX_INFLATED_BYTES", 2 * 1024**3)
IMPORT_XLSX_MAX_RATIO = env_int("RAPPORT_IMPORT_XLSX_MAX_RATIO", 100)
# Import files are kept (resume, rejected rows, undo): each person may keep this much (0: no quota).
IMPORT_USER_QUOTA_BYTES = env_int("RAPPORT_IMPORT_USER_QUOTA_BYTES", 10 * 1024**3)
# Uploaded files (imports): on local disk by default. Several app servers need storage they
# share (a network volume, or an object store through django-storages).
MEDIA_ROOT = Path(env_str("RAPPORT_MEDIA_ROOT", str(DATA_DIR / "media")))
if TESTING:
    import tempfile as _tempfile

    MEDIA_ROOT = Path(_tempfile.gettempdir()) / f"rapport_test_media_{os.getpid()}"

# Phone numbers typed without a country code are read in this region.
DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "GB")

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING or DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Serve straight from the app directories too, so `rapport serve` works without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Service: the hours between two digest e-mails to a colleague a case waits on.
RAPPORT_SERVICE_DIGEST_HOURS = env_int("RAPPORT_SERVICE_DIGEST_HOURS", 24)

# Channels: the largest inputs accepted, in bytes (and seconds for reading a card photo).
MAIL_MAX_MESSAGE_BYTES = env_int("MAIL_MAX_MESSAGE_BYTES", 50 * 1024 * 1024)
MAIL_MAX_ATTACHMENT_BYTES = env_int("MAIL_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)
RAPPORT_MAIL_UPLOAD_MAX_BYTES = env_int("RAPPORT_MAIL_UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
# Mail files up to this size are read in the request; larger ones by the worker (a status page).
# Tests read every file inline unless a test lowers it (the suite's 50 MB message, say).
MAIL_UPLOAD_INLINE_BYTES = env_int(
    "MAIL_UPLOAD_INLINE_BYTES", RAPPORT_MAIL_UPLOAD_MAX_BYTES if TESTING else 5 * 1024 * 1024
)
RAPPORT_VCARD_UPLOAD_MAX_BYTES = env_int("RAPPORT_VCARD_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
RAPPORT_CARD_IMAGE_MAX_BYTES = env_int("RAPPORT_CARD_IMAGE_MAX_BYTES", 15 * 1024 * 1024)
RAPPORT_CARD_IMAGE_MAX_PIXELS = env_int("RAPPORT_CARD_IMAGE_MAX_PIXELS", 40_000_000)
RAPPORT_CARD_OCR_TIMEOUT = env_int("RAPPORT_CARD_OCR_TIMEOUT", 30)

# Mailboxes on this machine or a private network (refused by default in production, where any
# user may connect their own mailbox and must not reach what sits behind the server).
RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = env_bool("RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS", not PRODUCTION)
# Fernet keys for stored credentials (mailbox passwords), comma-separated, the first
# encrypting (rapport.ingest.mail.secrets); empty: a key derived from SECRET_KEY.
RAPPORT_CREDENTIALS_KEYS = env_secret("RAPPORT_CREDENTIALS_KEYS")

TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if TESTING
        else "django_tasks_db.DatabaseBackend"
    }
}

# Every e-mail goes through the consent gate (rapport.consent.sending): Django's backend is
# the gate's, which refuses unstamped messages and hands the rest to CONSENT_EMAIL_BACKEND.
EMAIL_BACKEND = "rapport.consent.backend.GatedEmailBackend"
CONSENT_EMAIL_BACKEND = (
    "django.core.mail.backends.locmem.EmailBackend"
    if TESTING
    else env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "rapport@localhost")
# Links in messages (unsubscribe, preference centre, confirmation) start with this.
RAPPORT_PUBLIC_URL = env_str("RAPPORT_PUBLIC_URL", "http://localhost:8000")
CONSENT_SEND_RATE = env_int("CONSENT_SEND_RATE", 0)  # messages per second and process; 0: no limit
CONSENT_SUPPRESSION_PEPPER = env_secret("CONSENT_SUPPRESSION_PEPPER")
CONSENT_WEBHOOK_SECRET = env_secret("CONSENT_WEBHOOK_SECRET")
CONSENT_UNSUBSCRIBE_MAILTO = env_str("CONSENT_UNSUBSCRIBE_MAILTO")
CONSENT_DKIM_DOMAIN = env_str("CONSENT_DKIM_DOMAIN")
CONSENT_DKIM_SELECTOR = env_str("CONSENT_DKIM_SELECTOR")
CONSENT_DKIM_PRIVATE_KEY = env_secret("CONSENT_DKIM_PRIVATE_KEY")

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
