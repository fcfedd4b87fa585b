"""What the stage tests share: a topic catalog, a fixed moment, raw records, a lifecycle stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from streams import ids
from streams.catalog import TopicCatalog
from streams.models import RawEnvelope, TicketAction
from streams.stages.classify import ClassifyStage
from streams.stages.lifecycle import LifecycleStage
from streams.stages.normalize import NormalizeStage
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.testing import (
    MemoryTicketStore,
)

CATALOG = TopicCatalog("t.")


NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def raw_record(text="我的订单破损了，申请退货", channel="app", key="k1", submitted=NOW):
    body = {"customer": {"phone": "13800000000"}, "text": text, "submitted_at": submitted.isoformat()}
    return (
        RawEnvelope(
            channel=channel,
            received_at=submitted,
            adapter="test",
            idempotency_key=key,
            request_id=ids.request_id(channel, key),
            ticket_id=ids.ticket_id(channel, key),
            body=orjson.dumps(body).decode(),
        )
        .model_dump_json()
        .encode()
    )


def through_classify(classifier, raw):
    (normalized,) = NormalizeStage(CATALOG).process(raw, "app")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    return classified


REPLY_HOLD = 600.0


def lifecycle_owning_partition_0(routing, policies, **options) -> LifecycleStage:
    """A lifecycle stage that owns partition 0, its clock stopped at NOW unless `clock` is given."""
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    options.setdefault("clock", lambda: NOW.timestamp())
    return LifecycleStage(
        CATALOG,
        routing=routing,
        policies=policies,
        store=MemoryTicketStore(),
        index=index,
        open_tickets=counts,
        **options,
    )


def action_record(ticket_id, kind, seconds, action_id):
    return (
        TicketAction(
            action_id=action_id, ticket_id=ticket_id, type=kind, by="agent", at=NOW + timedelta(seconds=seconds)
        )
        .model_dump_json()
        .encode()
    )
