"""Service configuration: defaults, then an optional JSON file, then ROKU_FEED_* environment variables.

Every key is listed in DEFAULTS and documented in the README's configuration table; an
unknown key in a config file is refused so a typo cannot silently keep a default.
"""

from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

from roku_feed.errors import ConfigError

DEFAULTS: dict[str, t.Any] = {
    "DATA_DIR": "var",  # catalog, snapshots, HTTP cache
    "DATABASE_URL": None,  # postgresql://...: the state lives in PostgreSQL instead (roku_feed.store)
    "CONTENT_DIRS": [],  # article directories scanned at start and on refresh
    "UPSTREAM_URLS": [],  # RSS/Atom/JSON URLs polled every POLL_INTERVAL seconds
    "CHANNEL_FILE": None,  # channel.json; None = built-in defaults
    "STATIC_DIR": None,  # also write feed.json(.gz) here for nginx / a CDN origin
    "POLL_INTERVAL": 300,
    "REFRESH_ON_START": True,
    "FETCH_TIMEOUT": 10.0,
    "MAX_FETCH_BYTES": 20 * 1024 * 1024,
    "ALLOW_PRIVATE_URLS": False,
    "KEEP_SNAPSHOTS": 20,
    "FOLLOW_BACKSTOP": 5.0,  # PostgreSQL: seconds between a server's looks at the live row without a NOTIFY
    "MAX_DROP_SHARE": 0.3,
    "CACHE_MAX_AGE": 60,
    "STALE_WHILE_REVALIDATE": 600,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,  # request bodies (Flask refuses larger with 413)
    "MAX_VALIDATE_BYTES": 20 * 1024 * 1024,  # feeds fetched by POST /api/v1/validate {"url": ...}
    "MAX_PROBE_URLS": 2000,  # media URLs one POST /api/v1/validate?check_media=true may probe
    "API_TOKEN": None,  # write endpoints are disabled until this is set (from the environment)
    "PAGES_PUBLIC": True,  # false: every operator page needs sign-in, not only the write forms
    "SESSION_SECRET": None,  # signs the pages' session cookies; None: derived from API_TOKEN
    "SESSION_MAX_AGE": 8 * 3600,  # seconds a sign-in lasts
    "SIGNIN_MAX_FAILURES": 5,  # failed sign-ins per client address and SIGNIN_WINDOW, per worker
    "SIGNIN_WINDOW": 300,  # seconds
    "MEDIA_CHECK_INTERVAL": 3600,  # seconds between the publisher's media checks of the live feed; 0: none
    "ROKU_SILENCE_WARNING": 6 * 3600,  # seconds without a Roku fetch of /feed.json before a warning; 0: never
}


def load_config(
    overrides: t.Mapping[str, t.Any] | None = None,
    *,
    environ: t.Mapping[str, str] | None = None,
) -> dict[str, t.Any]:
    """DEFAULTS <- file named by ROKU_FEED_CONFIG <- ROKU_FEED_* variables <- `overrides`."""
    env = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    path = env.get("ROKU_FEED_CONFIG")
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read service config: {exc}") from None
        _merge(config, data, path)
    for key in DEFAULTS:
        raw = env.get(f"ROKU_FEED_{key}")
        if raw is not None:
            config[key] = _parse_env(key, raw)
    _merge(config, dict(overrides or {}), "overrides")
    return config


def _merge(config: dict[str, t.Any], data: t.Any, source: str) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the service config must be a JSON object")
    unknown = sorted(set(data) - set(DEFAULTS) - {"TESTING"})
    if unknown:
        raise ConfigError(f"{source}: unknown config key(s): {', '.join(unknown)}")
    config.update(data)


def _parse_env(key: str, raw: str) -> t.Any:
    """Lists are comma-separated; numbers and booleans are read as such; strings stay strings."""
    default = DEFAULTS[key]
    if isinstance(default, list):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(default, bool):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ConfigError(f"ROKU_FEED_{key}={raw!r}: use true or false")
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int | float):
        try:
            return type(default)(raw)
        except ValueError:
            raise ConfigError(f"ROKU_FEED_{key}={raw!r}: not a number") from None
    return raw
