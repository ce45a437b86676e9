"""Django settings, read only from the environment variables listed in `umbrella.config`."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from umbrella import config

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()
DEBUG = config.flag("UMBRELLA_DEBUG", default=False)
SECRET_KEY = config.secret_key(DATA_DIR, DEBUG)
ALLOWED_HOSTS = [
    host.strip() for host in (config.raw("UMBRELLA_ALLOWED_HOSTS") or "127.0.0.1,localhost").split(",") if host.strip()
]
IMPORT_MAX_BYTES = config.integer("UMBRELLA_IMPORT_MAX_BYTES", 20_000_000)
IMPORT_FILE_MAX_BYTES = config.integer("UMBRELLA_IMPORT_FILE_MAX_BYTES", 2_000_000_000)
RATE_MAX_AGE_DAYS = config.integer("UMBRELLA_RATE_MAX_AGE_DAYS", 31)
TRUSTED_PROXIES = config.networks("UMBRELLA_TRUSTED_PROXIES")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "umbrella.core",
    "umbrella.orgs",
    "umbrella.catalog",
    "umbrella.places",
    "umbrella.needs",
    "umbrella.pledges",
    "umbrella.matching",
    "umbrella.logistics",
    "umbrella.eum",
    "umbrella.training",
    "umbrella.tracker",
    "umbrella.funding",
    "umbrella.scenarios",
    "umbrella.ui",
    "umbrella.web",
    "umbrella.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "umbrella.orgs.middleware.ActorMiddleware",
    "umbrella.web.middleware.RefuseNulCharacters",
    "umbrella.web.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "umbrella.urls"
WSGI_APPLICATION = "umbrella.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "umbrella.web.context.navigation",
            ],
        },
    }
]


def _database(url: str) -> dict:
    database = dj_database_url.parse(url, conn_max_age=0)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers work while one writer commits; FULL survives power loss; IMMEDIATE takes the
        # write lock at BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
        database["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            **database.get("OPTIONS", {}),  # the URL's own (?timeout=2, say) win
        }
        database["TEST"] = {"NAME": str(DATA_DIR / "test_umbrella.sqlite3")}
    elif database["ENGINE"] == "django.db.backends.postgresql":
        # A write waits at most this long for a lock (an import holds some for its whole run), then is
        # answered "busy, try again" (core.database) instead of hanging; the URL may set its own.
        options = database.setdefault("OPTIONS", {}).get("options", "")
        if "lock_timeout" not in options:
            database["OPTIONS"]["options"] = f"{options} -c lock_timeout=20s".strip()
    return database


DATABASES = {"default": _database(config.database_url(DATA_DIR))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("uk", _("Ukrainian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the language chosen with the switch is kept for a year
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["umbrella.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve straight from the app packages as well, so a fresh checkout works before collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SECURE_COOKIES = config.flag("UMBRELLA_SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LOG_LEVEL = (config.raw("UMBRELLA_LOG_LEVEL") or "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "umbrella": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # A page's unexpected error (a 500) with its traceback; Django sends it nowhere else unless debug is on.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
