"""Settings shared by every mode; `demo`, `test` and `production` refine them."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from rapport.settings.env import data_dir, env_int, env_list, env_str, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()

SECRET_KEY = secret_key(DATA_DIR, generate=True)
DEBUG = False
ALLOWED_HOSTS = env_list("RAPPORT_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "rapport.core",
    "rapport.accounts",
    "rapport.contacts",
    "rapport.dataio",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "rapport.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rapport.core.middleware.UserContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",
    "rapport.accounts.limits.AccountRateLimitMiddleware",
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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rapport.core.context_processors.rapport",
            ],
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'rapport.sqlite3'}")


def sqlite_mmap_bytes() -> int:
    """How much of a SQLite file is read through a memory map (`RAPPORT_SQLITE_MMAP_MB`).

    Reading mapped pages skips a system call and a copy per page. A page of people
    narrowed by typed text at 1M people probes thousands of scattered rows, and took
    p95 35 → 26 ms with the map (decision 0052). The pages are the operating system's
    file cache either way; mapped, they also count in the process's RSS. SQLite caps the
    map at its build's limit (2 GB in the usual builds); 0 turns it off."""
    return env_int("RAPPORT_SQLITE_MMAP_MB", 2048, minimum=0) * 1024 * 1024


def database_config(url: str) -> dict:
    """One place turns DATABASE_URL into Django settings, with SQLite tuned for a server."""
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # One connection per server thread, kept across requests: opening one and running
        # the PRAGMAs below cost more than a whole list query. Nothing to health-check on
        # a local file.
        config["CONN_MAX_AGE"] = env_int("RAPPORT_SQLITE_CONN_MAX_AGE", 600)
        config["CONN_HEALTH_CHECKS"] = False
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            # wal_autocheckpoint: a checkpoint every 4,000 WAL pages (16 MB), not 1,000: a
            # person write adds 50-70 pages (its indexes and the search index), and the
            # write that runs the checkpoint took 3× as long: every 15th write did
            # (API write p95 9 → 3.5 ms at 1M people; decision 0036).
            # mmap_size: the file is read through a memory map, not a read() per page
            # (decision 0052).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA cache_size=-20000; "
                f"PRAGMA wal_autocheckpoint=4000; PRAGMA mmap_size={sqlite_mmap_bytes()};"
            ),
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # No JIT: it pays off for long analytic scans, and an OLTP statement whose cost
        # estimate is merely large (a ranked search over 1M entries) spent 2.3 s compiling
        # for 10 ms of work (issue 4). Reports that scan millions can turn it on per query.
        options = config.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
        # Values bound on the server, and a statement run this many times on a connection
        # is prepared there: a page's fixed-shape reads skip parsing and planning (about
        # a third of the person page's time at 1M people; decision 0039). 0 turns it off,
        # for a pooler in transaction mode that cannot keep prepared statements.
        threshold = env_int("RAPPORT_PG_PREPARE_THRESHOLD", 2)
        if threshold > 0:
            options["server_side_binding"] = True
            options["prepare_threshold"] = threshold
    return config


DATABASES = {"default": database_config(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses locked-out (username, IP) pairs before any password is hashed.
    "rapport.accounts.auth.LockoutBackend",
    # allauth's backend (a ModelBackend that also accepts the email address), reading
    # each request's user by SQL compiled once.
    "rapport.accounts.auth.AccountBackend",
]
# Database sessions, each request's read compiled once (rapport.accounts.sessions).
SESSION_ENGINE = "rapport.accounts.sessions"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "account_login"

# allauth: username or email login, no public sign-up (admins create users).
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_ADAPTER = "rapport.accounts.adapters.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
# One limit on password sign-in: django-axes. allauth's own sign-in limits are off
# ("login" per IP here, "login_failed" per login through AccountAdapter.pre_authenticate).
# "login_failed" stays on for the second factor only, where allauth keys it on the user
# (axes never sees a wrong TOTP code); password reset mails keep allauth's limits.
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": "5/300s/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Rapport"
MFA_RECOVERY_CODE_COUNT = 10

# django-axes: lock username + IP pairs, with a cool-off, in the shared cache.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_LOCKOUT_CALLABLE = "rapport.accounts.auth.lockout_response"  # 429 + account/lockout.html
AXES_USERNAME_FORM_FIELD = "login"
# allauth passes username= or email=, never login=: resolve the account being attacked.
AXES_USERNAME_CALLABLE = "rapport.accounts.auth.lockout_username"
AXES_CLIENT_IP_CALLABLE = "rapport.accounts.auth.lockout_ip"  # REMOTE_ADDR, as audit rows
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the cool-off is a fixed wait
AXES_CACHE = "default"

# Request rates (decision 0026), counted in the shared cache: "N/m", "N/10m", "N/h", "N/d";
# an empty value switches a limit off. Sign-in and password reset per client address (and
# reset per e-mail address) on top of the axes lockout; the API per user or token.
RAPPORT_RATE_LIMITS = {
    "login_ip": env_str("RAPPORT_LOGIN_RATE", "30/m"),
    "password_reset_ip": env_str("RAPPORT_PASSWORD_RESET_RATE", "10/h"),
    "password_reset_email": env_str("RAPPORT_PASSWORD_RESET_EMAIL_RATE", "3/h"),
}
RAPPORT_API_RATE = env_str("RAPPORT_API_RATE", "1200/min")

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "rapport_cache",
        }
    }

TASKS = {
    "default": {
        "BACKEND": env_str("RAPPORT_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("uk", "Українська"),
    ("ru", "Русский"),
    ("pl", "Polski"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "rapport.core.staticstorage.StaticStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"  # never served directly: uploads go through a permission-checking view
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Security headers; the CSP forbids inline scripts everywhere.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env_str("RAPPORT_FROM_EMAIL", "rapport@localhost")

RAPPORT_TRASH_RETENTION_DAYS = 30
RAPPORT_DEFAULT_PHONE_REGION = env_str("RAPPORT_DEFAULT_PHONE_REGION", "UA")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "rapport.core.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"rapport": {"level": "INFO"}},
}
