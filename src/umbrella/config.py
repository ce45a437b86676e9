"""Every setting Umbrella reads, with its help text.

Settings come only from environment variables. This list is the single source: `settings.py` reads it,
`umbrella settings` prints it, and a test proves `docs/settings.md` documents every entry.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "UMBRELLA_DATA_DIR",
        "./var",
        "Directory for the SQLite database, the generated secret key, collected static files and uploads.",
    ),
    Setting(
        "UMBRELLA_DATABASE_URL",
        "sqlite:///<data dir>/umbrella.sqlite3",
        "Database URL. sqlite:///path for the embedded default, postgres://user:pass@host:5432/name for multi-user deployment.",
    ),
    Setting(
        "UMBRELLA_SECRET_KEY",
        "generated once into <data dir>/secret_key",
        "Key for signing sessions and tokens. When UMBRELLA_DEBUG is off, a key shorter than 50 characters, "
        "with fewer than 5 distinct characters, or starting with 'django-insecure' is refused.",
    ),
    Setting("UMBRELLA_DEBUG", "false", "Debug mode (detailed error pages). Never on in production."),
    Setting(
        "UMBRELLA_ALLOWED_HOSTS",
        "127.0.0.1,localhost",
        "Comma-separated host names this server answers to.",
    ),
    Setting(
        "UMBRELLA_SECURE_COOKIES",
        "true when UMBRELLA_DEBUG is off",
        "Send session and CSRF cookies only over HTTPS. `umbrella demo` sets it to false (and says so) to "
        "serve over plain HTTP on 127.0.0.1; `umbrella serve` leaves it on.",
    ),
    Setting(
        "UMBRELLA_TRUSTED_PROXIES",
        "(none)",
        "Comma-separated addresses or networks (CIDR) of the reverse proxies in front of Umbrella. A request "
        "from one of them is taken to come from the right-most address in its X-Forwarded-For header that is "
        "not a trusted proxy; from any other peer the header is ignored. Sign-in throttling keys on that address, "
        "and `umbrella serve` believes their X-Forwarded-Proto.",
    ),
    Setting("UMBRELLA_LOG_LEVEL", "INFO", "Log level of the umbrella loggers (DEBUG, INFO, WARNING, ERROR)."),
    Setting(
        "UMBRELLA_IMPORT_MAX_BYTES",
        "20000000",
        "Largest file accepted by the import page, in bytes (an upload is kept until it is committed).",
    ),
    Setting(
        "UMBRELLA_IMPORT_FILE_MAX_BYTES",
        "2000000000",
        "Largest file `umbrella import` reads, in bytes. A CSV file is read a row at a time (up to 2,000,000 rows); "
        "a workbook is read whole, within its own limits of cells and rows.",
    ),
    Setting(
        "UMBRELLA_RATE_MAX_AGE_DAYS",
        "31",
        "An exchange rate older than this many days on the day it values an amount (an aid package's announced "
        "total) is warned about on the page and in the API.",
    ),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigurationError(Exception):
    """A setting has a value Umbrella refuses to start with."""


def raw(name: str) -> str | None:
    if name not in SETTINGS_BY_NAME:
        raise KeyError(f"{name} is not a documented setting")
    return os.environ.get(name)


def flag(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name}={value!r} is not a boolean (use true or false)")


def integer(name: str, default: int) -> int:
    value = raw(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"{name}={value!r} is not a whole number") from None


def networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    entries = [entry.strip() for entry in (raw(name) or "").split(",") if entry.strip()]
    parsed, refused = [], []
    for entry in entries:
        try:
            parsed.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            refused.append(entry)
    if refused:
        raise ConfigurationError(f"{name}: not an address or network: {', '.join(refused)}")
    return tuple(parsed)


def data_dir() -> Path:
    path = Path(raw("UMBRELLA_DATA_DIR") or "./var").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(directory: Path) -> str:
    return raw("UMBRELLA_DATABASE_URL") or f"sqlite:///{directory / 'umbrella.sqlite3'}"


def is_weak_secret(key: str) -> bool:
    return len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure")


def secret_key(directory: Path, debug: bool) -> str:
    configured = raw("UMBRELLA_SECRET_KEY")
    if configured is not None:
        if not debug and is_weak_secret(configured):
            raise ConfigurationError(
                "UMBRELLA_SECRET_KEY is too weak: use at least 50 characters with at least 5 distinct "
                "ones (or unset it to have one generated), or set UMBRELLA_DEBUG=true for local work."
            )
        return configured
    key_file = directory / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()
