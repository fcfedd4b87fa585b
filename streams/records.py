"""What a stage sends (`Output`), where a record was read (`Source`), and the record a rejected
payload becomes on `requests.invalid` — shared by the gateway and the worker's stages, so the
gateway needs nothing of the worker (docs/architecture.md, layers). Pure: no faust, no Kafka."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from streams import ids
from streams.catalog import TopicCatalog
from streams.domain.rejections import Rejection
from streams.models import InvalidRecord, RawEnvelope, utc_now


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Source:
    """Where a record was read, so a rejected one can be found and replayed."""

    topic: str
    partition: int
    offset: int

    def as_dict(self) -> dict:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


def invalid_output(
    catalog: TopicCatalog,
    *,
    stage: str,
    channel: str,
    rejection: Rejection,
    raw: bytes,
    source: Source | None,
    request_id: str | None = None,
    envelope: RawEnvelope | None = None,
    replay_topic: str | None = None,
) -> Output:
    """A rejected record for `requests.invalid`, keyed by request id (or a digest of the bytes)."""
    key = request_id or ids.raw_record_id(raw)
    record = InvalidRecord(
        request_id=key,
        channel=channel,
        stage=stage,
        error_code=rejection.error_code,
        reason=rejection.reason,
        errors=rejection.errors,
        rejected_at=utc_now(),
        replay_topic=replay_topic,
        source=source.as_dict() if source else None,
        envelope=envelope.model_dump(mode="json") if envelope is not None else None,
        raw_value=None if envelope is not None else raw_text(raw),
    )
    return Output(catalog.requests_invalid, key.encode(), record.model_dump_json().encode())


def raw_text(raw: bytes) -> str:
    """The original bytes, as text when they are UTF-8, else base64 with a marker."""
    text, is_base64 = utf8_or_base64(raw)
    return "base64:" + text if is_base64 else text


def utf8_or_base64(raw: bytes) -> tuple[str, bool]:
    """Bytes as text that keeps them exactly: UTF-8 when they are, else base64 (and True)."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True
