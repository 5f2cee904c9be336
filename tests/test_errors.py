"""Every error class, found by walking RokuFeedError's subclasses: its problem document over HTTP,
its headers, its CLI exit code and its README row. A new class is covered without a new test.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from conftest import CORPUS, REPO, make_app

import roku_feed
from roku_feed.errors import PROBLEM_TYPE_BASE, RokuFeedError, UnauthorizedError

PROBLEM = "application/problem+json"
RAISE = "/test-only/raise"

# Import every module, so a class defined outside errors.py would be found (and fail below).
for _module in pkgutil.walk_packages(roku_feed.__path__, "roku_feed."):
    if _module.name != "roku_feed.__main__":  # running it is the CLI
        importlib.import_module(_module.name)


def subclasses(cls: type[RokuFeedError]) -> list[type[RokuFeedError]]:
    return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]


ERRORS = sorted(set(subclasses(RokuFeedError)), key=lambda c: c.__name__)


def raising_app(tmp_path, error: RokuFeedError):
    app = make_app(tmp_path, None)

    def boom():
        raise error

    app.add_url_rule(RAISE, "test_only_raise", boom)
    return app


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_error_is_a_problem_document(tmp_path, cls: type[RokuFeedError]) -> None:
    assert cls.__module__ == "roku_feed.errors", "every error class lives in roku_feed/errors.py"
    detail = f"{cls.__name__} raised by a test"
    error = cls(detail)
    assert error.detail.startswith(detail)  # some classes add what a client must know (storage: stored)
    response = raising_app(tmp_path, error).test_client().get(RAISE)
    assert response.status_code == cls.status
    assert response.mimetype == PROBLEM
    assert response.json == {
        "type": PROBLEM_TYPE_BASE + cls.slug,
        "title": cls.title,
        "status": cls.status,
        "detail": error.detail,
        "instance": RAISE,
        **error.extra,
    }
    for name, value in cls.headers.items():
        assert response.headers[name] == value


def test_instance_headers_add_to_the_class_headers(tmp_path) -> None:
    error = UnauthorizedError("no", headers={"X-Test": "1"})
    response = raising_app(tmp_path, error).test_client().get(RAISE)
    assert response.headers["X-Test"] == "1"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="roku-feed"'
    assert "X-Test" not in UnauthorizedError.headers


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_error_ends_the_cli_with_its_exit_code(run_cli, monkeypatch, tmp_path, cls) -> None:
    detail = cls(f"{cls.__name__} raised by a test").detail

    def fail(*args, **kwargs):
        raise cls(f"{cls.__name__} raised by a test")

    monkeypatch.setattr("roku_feed.checking.load_feed", fail)
    checked = run_cli("validate", str(CORPUS / "valid" / "minimal.json"))
    assert (checked.exit_code, checked.stderr) == (cls.exit_code, f"roku-feed: {detail}\n")
    monkeypatch.setattr("roku_feed.channel.load_channel", fail)
    built = run_cli("build", str(tmp_path), "-o", str(tmp_path / "feed.json"))
    assert (built.exit_code, built.stderr) == (cls.exit_code, f"roku-feed: {detail}\n")


def test_the_readme_lists_every_error_with_its_status_and_exit_code() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (\d{3}) \| (\d) \|", readme, flags=re.MULTILINE)
    assert sorted(rows) == sorted((c.slug, str(c.status), str(c.exit_code)) for c in ERRORS)
    assert len({c.slug for c in ERRORS}) == len(ERRORS), "slugs name one class each"


def test_http_errors_follow_the_same_type_convention(client, app) -> None:
    too_big = b" " * (app.config["MAX_CONTENT_LENGTH"] + 1)
    for response, slug in (
        (client.get("/nope"), "not-found"),
        (client.post("/feed.json"), "method-not-allowed"),
        (
            client.post("/api/v1/validate", data=too_big, content_type="application/json"),
            "request-entity-too-large",
        ),
    ):
        assert response.mimetype == PROBLEM
        problem = response.json
        assert problem["type"] == PROBLEM_TYPE_BASE + slug and problem["status"] == response.status_code
        assert problem["instance"] == response.request.path and problem["title"] and problem["detail"]
    assert {"GET", "HEAD"} <= set(client.post("/feed.json").headers["Allow"].split(", "))
