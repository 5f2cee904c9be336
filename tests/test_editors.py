"""The schemas work by their ids in standard tools, and docs/editors.md names the right ids and files."""

from __future__ import annotations

import fnmatch
import json
import re

import jsonschema
import pytest
from conftest import CORPUS, REAL_FEEDS, REPO, load_json
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from roku_feed.validation import validate_feed
from roku_feed.validation.schema_pass import DP_SCHEMA, SEARCH_SCHEMA, load_schema

EDITORS = (REPO / "docs" / "editors.md").read_text(encoding="utf-8")
SCHEMAS = [DP_SCHEMA, SEARCH_SCHEMA]
#: A feed each schema accepts, and one it rejects.
EXAMPLES = {
    DP_SCHEMA: (load_json(CORPUS / "valid" / "every-type.json"), {"providerName": "no dates, no items"}),
    SEARCH_SCHEMA: (load_json(REAL_FEEDS / "search" / "advanced-feed-example.json"), {"version": "1"}),
}


def schema_id(name: str) -> str:
    return f"https://roku-feed.dev/schemas/{name}"


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_has_its_stable_id_and_is_valid_draft_04(name: str) -> None:
    schema = load_schema(name)
    assert schema["id"] == schema_id(name)  # draft-04's spelling of $id
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft4Validator
    cls.check_schema(schema)
    assert Resource.from_contents(schema) == DRAFT4.create_resource(schema)  # read as draft-04
    assert DRAFT4.create_resource(schema).id() == schema_id(name)


@pytest.mark.parametrize("name", SCHEMAS)
def test_a_registry_resolves_each_schema_and_its_definitions_by_id(name: str) -> None:
    schema = load_schema(name)
    registry = Resource.from_contents(schema) @ Registry()  # stored under the id it declares
    by_id = jsonschema.Draft4Validator({"$ref": schema_id(name)}, registry=registry)
    good, bad = EXAMPLES[name]
    assert by_id.is_valid(good) and not by_id.is_valid(bad)
    url = jsonschema.Draft4Validator({"$ref": schema_id(name) + "#/definitions/url"}, registry=registry)
    assert url.is_valid("https://media.example.org/a.m3u8") and not url.is_valid("a.m3u8")


def test_the_docs_name_every_schema_file_with_its_id() -> None:
    for name in SCHEMAS:
        assert (REPO / "schemas" / name).is_file()
        row = f"| `schemas/{name}` | `{schema_id(name)}` |"
        assert row in EDITORS, row
    named = set(re.findall(r"https://roku-feed\.dev/schemas/[\w.-]+", EDITORS))
    assert named == {schema_id(name) for name in SCHEMAS}


def _json_blocks() -> list[dict]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", EDITORS, flags=re.DOTALL)]


def test_the_editor_settings_point_at_the_schema_files() -> None:
    vscode, server, feed = _json_blocks()
    settings = [vscode["json.schemas"], server["json"]["schemas"]]
    for entries in settings:
        assert [entry["url"].rsplit("/", 2)[-2:] for entry in entries] == [["schemas", n] for n in SCHEMAS]
    assert all((REPO / entry["url"]).resolve().is_file() for entry in vscode["json.schemas"])
    # the Direct Publisher entry matches every name the pre-commit hook checks
    patterns = vscode["json.schemas"][0]["fileMatch"]
    for path in ("feed.json", "channel/roku-feed.json", "out/news.roku.json"):
        assert any(fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in patterns), path
    assert feed["$schema"].endswith(f"schemas/{DP_SCHEMA}")


def test_a_schema_key_in_a_feed_is_no_finding() -> None:
    feed = {"$schema": f"../schemas/{DP_SCHEMA}", **load_json(CORPUS / "valid" / "every-type.json")}
    assert validate_feed(feed).findings == ()
    assert jsonschema.Draft4Validator(load_schema(DP_SCHEMA)).is_valid(feed)
