"""docs/asyncapi.yaml is what `ticketflow contract` generates now, is valid AsyncAPI 3.0.0 and
covers every public topic of the catalog."""

from __future__ import annotations

import re
import warnings
from typing import Any

from streams.catalog import TopicCatalog
from streams.contract import COMMAND, EVENT_TYPES, render
from tests.contract.document import DOCUMENT, address_pattern, document


def test_the_committed_document_is_what_the_generator_writes():
    assert DOCUMENT.read_text(encoding="utf-8") == render(), (
        f"{DOCUMENT.relative_to(DOCUMENT.parents[1])} is out of date with the models or topics: run `{COMMAND}`"
    )


def test_the_document_is_valid_asyncapi_3():
    with warnings.catch_warnings():  # the library's own pydantic field-name warnings
        warnings.simplefilter("ignore", UserWarning)
        from asyncapi3 import AsyncAPI3

    parsed = AsyncAPI3.model_validate(document())
    assert parsed.asyncapi == "3.0.0"


def test_every_schema_is_a_valid_json_schema():
    from jsonschema import Draft202012Validator

    doc = document()
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    for message in doc["components"]["messages"].values():
        Draft202012Validator.check_schema(message["payload"])


def _references(node: Any, at: str = "#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield at, value
            else:
                yield from _references(value, f"{at}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, f"{at}/{index}")


def _resolve(pointer: str) -> Any:
    node: Any = document()
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_reference_resolves_inside_the_document():
    for where, pointer in _references(document()):
        assert pointer.startswith("#/"), f"{where}: {pointer} is not a local reference"
        try:
            _resolve(pointer)
        except (KeyError, IndexError, TypeError):
            raise AssertionError(f"{where}: {pointer} does not resolve") from None


def test_channel_parameters_match_their_addresses_and_operations_use_their_channels_messages():
    doc = document()
    for channel_id, channel in doc["channels"].items():
        named = set(re.findall(r"\{([^}]+)\}", channel["address"]))
        assert named == set(channel.get("parameters", {})), channel_id
        assert channel["messages"], f"channel {channel_id} has no message"
    for operation_id, operation in doc["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        assert operation["messages"], operation_id
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), (operation_id, message)


def test_every_public_topic_of_the_catalog_is_a_channel_and_every_channel_a_topic():
    patterns = {channel["address"]: address_pattern(channel["address"]) for channel in document()["channels"].values()}
    topics = TopicCatalog("").public_topics(["some_department"])
    for topic in topics:
        assert [address for address, pattern in patterns.items() if pattern.match(topic)], topic
    for address, pattern in patterns.items():
        assert any(pattern.match(topic) for topic in topics), f"channel {address} is not in streams/catalog.py"


def test_every_message_has_a_kafka_key_with_a_description():
    for name, message in document()["components"]["messages"].items():
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string" and key["description"], name


def test_every_event_type_is_a_message_of_its_topic():
    doc = document()
    declared = {}
    for channel in doc["channels"].values():
        for reference in channel["messages"].values():
            message = _resolve(reference["$ref"])
            event_type = message["payload"].get("properties", {}).get("type", {}).get("const")
            if event_type is not None:
                declared[event_type] = channel["address"]
    assert declared == {spec.type: spec.topic for spec in EVENT_TYPES}


def test_the_command_writes_the_document_and_checks_it(tmp_path):
    from click.testing import CliRunner

    from streams.cli import main

    target = tmp_path / "asyncapi.yaml"
    assert CliRunner().invoke(main, ["contract", "--output", str(target), "--check"]).exit_code != 0
    assert CliRunner().invoke(main, ["contract", "--output", str(target)]).exit_code == 0
    assert target.read_text(encoding="utf-8") == render()
    assert CliRunner().invoke(main, ["contract", "--output", str(target), "--check"]).exit_code == 0
