"""normalize: raw records → requests.normalized or requests.invalid."""

from __future__ import annotations

import orjson

from streams import ids
from streams.models import RawEnvelope
from streams.records import Source
from streams.stages.classify import ClassifyStage
from streams.stages.normalize import NormalizeStage
from tests.stages.helpers import (
    CATALOG,
    NOW,
    raw_record,
)


def test_normalize_keys_by_customer_and_writes_the_normalized_topic():
    (output,) = NormalizeStage(CATALOG).process(raw_record(), "app", Source("t.raw.app", 0, 7))
    assert output.topic == "t.requests.normalized"
    assert output.key.decode().startswith("CUS-")


def test_normalize_sends_a_malformed_record_to_invalid_with_its_source_and_bytes():
    (output,) = NormalizeStage(CATALOG).process(b"\x00garbage", "app", Source("t.raw.app", 1, 42))
    record = orjson.loads(output.value)
    assert output.topic == "t.requests.invalid"
    assert record["error_code"] == "invalid_envelope" and record["source"] == {
        "topic": "t.raw.app",
        "partition": 1,
        "offset": 42,
    }
    assert record["raw_value"] == "\x00garbage" and record["replay_topic"] == "t.raw.app"


def test_normalize_keeps_the_whole_envelope_of_a_rejected_body():
    (output,) = NormalizeStage(CATALOG).process(raw_record(text="   "), "app")
    record = orjson.loads(output.value)
    assert record["error_code"] == "invalid_request" and record["envelope"]["idempotency_key"] == "k1"


def test_normalize_refuses_an_envelope_on_another_channels_topic():
    (output,) = NormalizeStage(CATALOG).process(raw_record(channel="email"), "app")
    assert orjson.loads(output.value)["error_code"] == "channel_mismatch"


def call_event_record(kind: str) -> bytes:
    body = {"event": kind, "call_id": "c-1", "at": NOW.isoformat(), "caller": "13800000000"}
    return (
        RawEnvelope(
            channel="phone",
            received_at=NOW,
            adapter="cti-webhook/v1",
            idempotency_key=f"c-1:{kind}",
            request_id=ids.request_id("phone", "c-1"),
            ticket_id=ids.ticket_id("phone", "c-1"),
            body=orjson.dumps(body).decode(),
        )
        .model_dump_json()
        .encode()
    )


def test_normalize_produces_nothing_for_a_call_event_that_is_not_a_request():
    assert NormalizeStage(CATALOG).process(call_event_record("offered"), "phone") == []


def test_normalize_reads_each_envelope_with_its_adapters_parser():
    record = call_event_record("abandoned").replace(b'\\"caller\\"', b'\\"callback_requested\\":true,\\"caller\\"')
    (output,) = NormalizeStage(CATALOG).process(record, "phone")
    assert output.topic == "t.requests.normalized" and "回电" in orjson.loads(output.value)["text"]


def test_normalize_resolves_the_customer_through_the_contact_index():
    index = {"phone:13800000000": "CRM-9"}
    (output,) = NormalizeStage(CATALOG, contacts=index.get).process(raw_record(), "app")
    assert output.key == b"CRM-9" and orjson.loads(output.value)["customer_id"] == "CRM-9"


def test_an_unexpected_error_goes_to_invalid_instead_of_stopping(monkeypatch, classifier):
    stage = ClassifyStage(CATALOG, classifier)
    monkeypatch.setattr(stage.classifier, "decide", lambda *a, **k: 1 / 0)
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(), "app")
    (output,) = stage.process(normalized.value)
    record = orjson.loads(output.value)
    assert output.topic == "t.requests.invalid" and record["error_code"] == "processing_error"
    assert "ZeroDivisionError" in record["reason"]
