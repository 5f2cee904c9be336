"""schemathesis against the OpenAPI document the real service serves (`/api/v1/openapi.json`).

Every operation, with data that matches the document and data that does not (negative mode):
no answer is a 5xx, and every answer matches the document (status, content type, schema,
headers). URLs in bodies are pointed at the service's own feed and `check_media` is left out,
so that nothing leaves 127.0.0.1.

`make test` draws SCHEMATHESIS_EXAMPLES (default 10) cases per operation; `make fuzz` (the
"fuzz" hypothesis profile) draws the profile's count unless SCHEMATHESIS_EXAMPLES says otherwise.
"""

from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

import pytest
import schemathesis
from conftest import SERVE_TOKEN, Service, content_service
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

import roku_feed.web

FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
#: Cases per operation: SCHEMATHESIS_EXAMPLES, else 10 in `make test` and the profile's under fuzz.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES") or (settings.default.max_examples if FUZZING else 10))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Service]:
    yield from content_service(tmp_path_factory, "schemathesis", workers=1)


@pytest.fixture(scope="module")
def api(service: Service):
    return schemathesis.openapi.from_url(service.url("/api/v1/openapi.json"))


# The operations, named from the document in the repository (test ids); their cases are drawn
# from the document the service serves. (schemathesis' own pytest plugin does not run on pytest 9.)
DOCUMENT = json.loads((Path(roku_feed.web.__file__).parent / "openapi.json").read_text(encoding="utf-8"))
OPERATIONS = [
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in ("get", "head", "post", "put", "patch", "delete")
]


def _has_input(method: str, path: str) -> bool:
    """Whether the operation takes a body or query parameters: what negative data can break (any
    string is a valid header or path segment of theirs, so schemathesis cannot negate those)."""
    operation = DOCUMENT["paths"][path][method.lower()]
    return bool(
        operation.get("requestBody") or any(p.get("in") == "query" for p in operation.get("parameters", ()))
    )


CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _has_input(method, path)
]


# The validators take any JSON as the feed to judge: a feed that breaks the document's RokuFeed
# schema is answered 200 with its findings, as documented, not refused.
JUDGES = {
    ("POST", "/api/v1/validate"): [negative_data_rejection],
    ("POST", "/validate"): [negative_data_rejection],
}


def keep_local(case: t.Any, service: Service) -> None:
    """Point any URL to fetch at the service's own feed; never probe media (it is elsewhere)."""
    if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
        case.body["url"] = service.url("/feed.json")
    if isinstance(case.query, dict):
        case.query.pop("check_media", None)


def test_the_served_document_is_the_one_in_the_repository(api: t.Any) -> None:
    assert api.raw_schema == DOCUMENT


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_every_operation_answers_as_documented_and_never_5xx(
    api: t.Any, service: Service, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api[path][method]

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: t.Any) -> None:
        keep_local(case, service)
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {SERVE_TOKEN}"},
            # a body the document allows may still be refused for what JSON Schema cannot say
            # (a real date, an id no other article has): refusals are checked for their shape
            excluded_checks=[positive_data_acceptance, *JUDGES.get((method, path), ())],
        )
        assert response.status_code < 500 or response.status_code in (503, 507), response.text

    check()
