"""What the contract tests share: the committed document, and a JSON Schema validator that
resolves its `#/components/...` references."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
_URI = "urn:ticketflow:asyncapi"


@cache
def document() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    return Registry().with_resource(_URI, Resource.from_contents(document(), default_specification=DRAFT202012))


def validator(pointer: str) -> Draft202012Validator:
    """A validator for the schema at `pointer` in the document (e.g. `#/components/schemas/X`)."""
    return Draft202012Validator({"$ref": _URI + pointer}, registry=_registry())


def errors(pointer: str, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator(pointer).iter_errors(instance)
    ]


def address_pattern(address: str) -> re.Pattern[str]:
    """`dept.{department}` → a regex matching `dept.<anything without a dot>`."""
    parts = re.split(r"(\{[^}]+\})", address)
    return re.compile("".join("[^.]+" if part.startswith("{") else re.escape(part) for part in parts) + "$")


def channel_of(topic: str) -> tuple[str, dict[str, Any]]:
    """The channel (id, object) whose address matches a topic name without its prefix."""
    found = [
        (name, channel)
        for name, channel in document()["channels"].items()
        if address_pattern(channel["address"]).match(topic)
    ]
    assert len(found) == 1, f"topic {topic!r} matches {len(found)} channels of {DOCUMENT.name}"
    return found[0]


def message_for(topic: str, event_type: str | None) -> str:
    """The pointer of the message a record on `topic` is (a CloudEvent: the one of its type)."""
    channel_id, channel = channel_of(topic)
    messages = document()["components"]["messages"]
    for reference in channel["messages"].values():
        name = reference["$ref"].rsplit("/", 1)[1]
        payload = messages[name]["payload"]
        declared = payload.get("properties", {}).get("type", {}).get("const")
        is_record = event_type is None and "$ref" in payload
        if is_record or (event_type is not None and declared == event_type):
            return f"#/components/messages/{name}"
    raise AssertionError(
        f"{event_type or 'a record'} on {topic!r} is not declared on channel {channel_id!r} "
        f"of docs/asyncapi.yaml: add it to streams/contract/ and run `ticketflow contract`"
    )
