"""The schema itself: valid draft-04, self-documenting, and read the same way by every engine."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import jsonschema
import pytest
from conftest import CORPUS, REPO, load_json

from roku_feed.validation import load_schema
from roku_feed.validation.schema_pass import (
    DP_SCHEMA,
    EXPLAINED_KEYWORDS,
    SEARCH_SCHEMA,
    Violation,
    schema_findings,
)

SCHEMA_PATH = REPO / "schemas" / "roku-direct-publisher.schema.json"
CORPUS_FILES = sorted(CORPUS.glob("*/*.json"))


def walk(node: t.Any, path: tuple[str, ...] = ()) -> t.Iterator[tuple[tuple[str, ...], t.Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, str(i)))


SCHEMAS = {DP_SCHEMA: SCHEMA_PATH, SEARCH_SCHEMA: REPO / "schemas" / SEARCH_SCHEMA}


@pytest.mark.parametrize("name", SCHEMAS)
def test_bundled_schema_is_the_repository_schema(name: str) -> None:
    assert load_schema(name) == json.loads(SCHEMAS[name].read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_passes_the_draft_04_metaschema(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    jsonschema.Draft4Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_definition_object_and_property_has_a_description(name: str) -> None:
    schema = load_schema(name)
    undocumented = [
        f"definitions/{name}" for name, node in schema["definitions"].items() if not node.get("description")
    ]
    for path, node in walk(schema):
        if path and path[-1] == "properties" and isinstance(node, dict):
            undocumented += [
                "/".join((*path, key)) for key, sub in node.items() if not sub.get("description")
            ]
        if isinstance(node, dict) and node.get("type") == "object" and not node.get("description"):
            undocumented.append("/".join(path))
    assert undocumented == []


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_keyword_the_schema_checks_is_explained(name: str) -> None:
    # "not" appears only inside anyOf branches, whose failure is reported as the anyOf; "id" names it.
    structural = {"$schema", "id", "title", "description", "definitions", "properties", "items", "$ref"}
    structural.add("not")
    used = set()
    for path, node in walk(load_schema(name)):
        if isinstance(node, dict) and (not path or path[-1] not in ("properties", "definitions")):
            used.update(node)
    assert used - structural <= EXPLAINED_KEYWORDS


def test_corpus_is_large_enough() -> None:
    counts = {
        folder: len(list((CORPUS / folder).glob("*.json"))) for folder in ("valid", "invalid", "warning")
    }
    assert counts["invalid"] >= 40
    assert counts["valid"] >= 2


def _reference_violations(feed: t.Any) -> list[Violation]:
    """Schema errors from the pure-Python jsonschema package, the reference implementation."""
    validator = jsonschema.Draft4Validator(load_schema())
    return [
        Violation(tuple(e.absolute_path), tuple(e.relative_schema_path), e.instance)
        for e in validator.iter_errors(feed)
    ]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_compiled_engine_agrees_with_reference_jsonschema(path: Path) -> None:
    feed = load_json(path)
    fast = {(f.code, f.pointer, f.message) for f in schema_findings(feed)}
    reference = {(f.code, f.pointer, f.message) for f in schema_findings(feed, _reference_violations(feed))}
    if {code for code, _, _ in fast} == {"nesting-too-deep"}:
        assert reference  # jsonschema-rs cannot report inside; both still call it invalid
    else:
        assert fast == reference


def test_check_jsonschema_cli_agrees_with_our_schema_verdict() -> None:
    """The independent check-jsonschema CLI, given only the schema file, splits the corpus as we do."""
    ours = {str(p): bool(schema_findings(load_json(p))) for p in CORPUS_FILES}
    assert any(ours.values()) and not all(ours.values())
    check = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(check), "--schemafile", str(SCHEMA_PATH), "-o", "json", *ours],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    result = json.loads(proc.stdout)
    failing = {e["filename"] for e in result["errors"]}
    assert not result["parse_errors"]
    assert {name for name, bad in ours.items() if bad} == failing


def test_valid_corpus_uses_every_property_the_schema_defines() -> None:
    """The valid feeds exercise every field, so no part of the schema goes untested."""
    defined = {key for path, node in walk(load_schema()) if path and path[-1] == "properties" for key in node}
    used = set()
    for path in sorted((CORPUS / "valid").glob("*.json")):
        for _, node in walk(load_json(path)):
            if isinstance(node, dict):
                used.update(node)
    assert defined - used == set()
