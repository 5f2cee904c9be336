"""Service configuration: defaults, a JSON file, ROKU_FEED_* variables, overrides; typos refused."""

from __future__ import annotations

import json

import pytest

from roku_feed.errors import ConfigError
from roku_feed.web.config import DEFAULTS, load_config


def test_defaults_without_anything() -> None:
    assert load_config(environ={}) == DEFAULTS
    assert DEFAULTS["API_TOKEN"] is None  # writes are disabled until a token is set


def test_file_then_environment_then_overrides(tmp_path) -> None:
    path = tmp_path / "service.json"
    path.write_text(json.dumps({"POLL_INTERVAL": 60, "CACHE_MAX_AGE": 30, "DATA_DIR": "/srv/a"}))
    env = {
        "ROKU_FEED_CONFIG": str(path),
        "ROKU_FEED_CACHE_MAX_AGE": "15",
        "ROKU_FEED_ALLOW_PRIVATE_URLS": "yes",
        "ROKU_FEED_UPSTREAM_URLS": "https://a.example/rss, https://b.example/atom",
        "ROKU_FEED_FETCH_TIMEOUT": "2.5",
        "ROKU_FEED_API_TOKEN": "t0ken",
    }
    config = load_config({"DATA_DIR": "/srv/b"}, environ=env)
    assert config["POLL_INTERVAL"] == 60  # file
    assert config["CACHE_MAX_AGE"] == 15  # environment beats file
    assert config["ALLOW_PRIVATE_URLS"] is True
    assert config["UPSTREAM_URLS"] == ["https://a.example/rss", "https://b.example/atom"]
    assert config["FETCH_TIMEOUT"] == 2.5 and config["API_TOKEN"] == "t0ken"
    assert config["DATA_DIR"] == "/srv/b"  # overrides beat everything


@pytest.mark.parametrize(
    ("env", "file", "reason"),
    [
        ({"ROKU_FEED_POLL_INTERVAL": "often"}, None, "not a number"),
        ({"ROKU_FEED_REFRESH_ON_START": "maybe"}, None, "use true or false"),
        ({}, {"POLL_INTERVALL": 5}, "unknown config key(s): POLL_INTERVALL"),
        ({}, [1, 2], "must be a JSON object"),
        ({}, "not json", "cannot read service config"),
    ],
)
def test_bad_configuration_is_refused_with_the_key(tmp_path, env, file, reason) -> None:
    if file is not None:
        path = tmp_path / "service.json"
        path.write_text(file if isinstance(file, str) else json.dumps(file))
        env = {**env, "ROKU_FEED_CONFIG": str(path)}
    with pytest.raises(ConfigError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load_config(environ=env)
