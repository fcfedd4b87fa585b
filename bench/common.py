"""What the benchmarks share: the partition count and the request envelopes they send (docs/benchmarks.md)."""

from __future__ import annotations

import json
from datetime import UTC

from streams import ids
from streams.models import RawEnvelope
from streams.simulator import TrafficGenerator

PARTITIONS = 4


def build_requests(count: int, run: str) -> list[tuple[str, bytes, bytes]]:
    """(channel, key, envelope bytes) of valid, distinct requests."""
    traffic = TrafficGenerator(seed=1, malformed_share=0.0, duplicate_share=0.0)
    records = []
    for number in range(count):
        request = traffic.next_request()
        key = f"bench-{run}-{number}"
        payload = dict(request.payload, idempotency_key=key)
        payload.pop("submitted_at", None)
        envelope = RawEnvelope(
            channel=request.channel,
            received_at=datetime_now(),
            adapter="bench",
            idempotency_key=key,
            request_id=ids.request_id(request.channel, key),
            ticket_id=ids.ticket_id(request.channel, key),
            body=json.dumps(payload, ensure_ascii=False),
        )
        records.append((request.channel, key.encode(), envelope.model_dump_json().encode()))
    return records


def datetime_now():
    from datetime import datetime

    return datetime.now(UTC)
