"""The event contract: every public topic, its key and its CloudEvents types as an AsyncAPI 3
document (docs/asyncapi.yaml, docs/topics.md). Plain data and pydantic; no Kafka, no faust."""

from streams.contract.asyncapi import COMMAND, DOCUMENT, build, is_current, render, write
from streams.contract.channels import CHANNEL_SPECS
from streams.contract.events import EVENT_TYPES, event_type

__all__ = [
    "CHANNEL_SPECS",
    "COMMAND",
    "DOCUMENT",
    "EVENT_TYPES",
    "build",
    "event_type",
    "is_current",
    "render",
    "write",
]
