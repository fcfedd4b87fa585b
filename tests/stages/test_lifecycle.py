"""lifecycle: routing, SLA points, retention, ownership."""

from __future__ import annotations

from datetime import timedelta

import orjson

from streams import ids
from streams.models import TicketAction
from streams.records import Source
from streams.stages.lifecycle import LifecycleStage
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.testing import (
    MemoryTicketStore,
)
from tests.stages.helpers import (
    CATALOG,
    NOW,
    action_record,
    lifecycle_owning_partition_0,
    raw_record,
    through_classify,
)


def test_lifecycle_routes_a_new_ticket_once(lifecycle, classifier):
    classified = through_classify(classifier, raw_record())
    outputs = lifecycle.on_classified(classified.value, 0)
    routed = [orjson.loads(o.value) for o in outputs if o.topic.startswith("t.dept.")]
    assert [event["type"] for event in routed] == ["ticket.routed"]
    assert routed[0]["data"]["department"] == "after_sales" and routed[0]["data"]["text"]
    assert lifecycle.on_classified(classified.value, 0) == []  # duplicate
    assert lifecycle.open_tickets.total() == 1


def test_lifecycle_events_are_cloudevents_with_deterministic_ids(lifecycle, classifier):
    classified = through_classify(classifier, raw_record())
    outputs = lifecycle.on_classified(classified.value, 0)
    sla_events = [orjson.loads(o.value) for o in outputs if o.topic == "t.sla.events"]
    assert {event["type"] for event in sla_events} == {"sla.activated"}
    ticket = sla_events[0]["subject"]
    assert sla_events[0]["id"] == ids.event_id(ticket, sla_events[0]["data"]["metric"], 1, "activated", 0)
    assert all(event["specversion"] == "1.0" and event["datacontenttype"] == "application/json" for event in sla_events)


def test_timer_fires_each_point_once_at_its_moment(lifecycle, classifier):
    classified = through_classify(classifier, raw_record())
    lifecycle.on_classified(classified.value, 0)
    now = NOW.timestamp()
    assert lifecycle.fire_due(0, now + 4.9) == []
    warning = lifecycle.fire_due(0, now + 5.0)
    assert [orjson.loads(o.value)["type"] for o in warning] == ["sla.warning"]
    breach = lifecycle.fire_due(0, now + 10.0)
    assert [orjson.loads(o.value)["type"] for o in breach] == ["sla.breached"]
    assert lifecycle.fire_due(0, now + 11.0) == []


def test_reply_action_stops_the_clock_and_unschedules_its_points(lifecycle, classifier):
    classified = through_classify(classifier, raw_record())
    ticket_id = classified.key.decode()
    lifecycle.on_classified(classified.value, 0)
    reply = TicketAction(action_id="A1", ticket_id=ticket_id, type="reply", by="agent", at=NOW + timedelta(seconds=2))
    outputs = lifecycle.on_action(reply.model_dump_json().encode(), 0)
    assert [orjson.loads(o.value)["type"] for o in outputs] == ["sla.fulfilled"]
    fired = [orjson.loads(o.value) for o in lifecycle.fire_due(0, NOW.timestamp() + 30.0)]
    assert {event["data"]["metric"] for event in fired} == {"resolution"}  # first response no longer fires


def test_transfer_to_an_unknown_department_is_rejected(lifecycle):
    transfer = TicketAction(action_id="A2", ticket_id="TKT-X", type="transfer", by="a", at=NOW, department="legal")
    (output,) = lifecycle.on_action(transfer.model_dump_json().encode(), 0)
    assert orjson.loads(output.value)["error_code"] == "unknown_department"


def test_rebuild_indexes_only_owned_partitions(lifecycle, classifier):
    for key in ("a", "b", "c"):
        lifecycle.on_classified(through_classify(classifier, raw_record(key=key)).value, 0)
    owned_ticket = ids.ticket_id("app", "a")
    lifecycle.revoke([0])  # a rebalance revokes, then assigns
    list(lifecycle.rebuild_in_steps({0}, lambda ticket: 0 if ticket == owned_ticket else 1))
    assert lifecycle.index.scheduled() == 1 and lifecycle.open_tickets.total() == 1


def test_rebuild_keeps_partitions_still_owned_and_reads_only_new_ones(lifecycle, classifier):
    lifecycle.on_classified(through_classify(classifier, raw_record(key="a")).value, 0)
    reads = []
    original_get = lifecycle.store.get
    lifecycle.store.get = lambda ticket_id: reads.append(ticket_id) or original_get(ticket_id)
    list(lifecycle.rebuild_in_steps({0, 1}, lambda ticket: 0))
    assert reads == [] and lifecycle.index.scheduled() == 1 and sorted(lifecycle.index.partitions()) == [0, 1]


def _facts_of(outputs):
    return [(0, output.value) for output in outputs if output.topic == "t.facts"]


def test_lifecycle_reports_received_responded_and_breached_facts(routing, short_policies, classifier):
    stage = lifecycle_owning_partition_0(routing, short_policies, facts_topic="t.facts")
    classified = through_classify(classifier, raw_record())
    opened = stage.on_classified(classified.value, 0)
    fired = stage.fire_due(0, NOW.timestamp() + 10)
    kinds = [orjson.loads(value)["kind"] for _, value in _facts_of(opened + fired)]
    assert kinds == ["received", "breached"]
    assert {output.key for output in opened + fired if output.topic == "t.facts"} == {b"after_sales"}


def test_resolved_tickets_leave_the_table_after_their_retention(routing, short_policies, classifier):
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    store = MemoryTicketStore()
    stage = LifecycleStage(
        CATALOG,
        routing=routing,
        policies=short_policies,
        store=store,
        index=index,
        open_tickets=counts,
        retention_seconds=3600,
        clock=lambda: NOW.timestamp() + 5,
    )
    classified = through_classify(classifier, raw_record())
    ticket_id = classified.key.decode()
    stage.on_classified(classified.value, 0)
    stage.on_action(action_record(ticket_id, "resolve", 5, "A-resolve"), 0)
    assert stage.fire_due(0, NOW.timestamp() + 3000) == [] and store.get(ticket_id) is not None
    stage.fire_due(0, NOW.timestamp() + 3606)
    assert store.get(ticket_id) is None and index.scheduled() == 0


def test_open_tickets_never_expire(lifecycle, classifier):
    classified = through_classify(classifier, raw_record())
    lifecycle.on_classified(classified.value, 0)
    lifecycle.fire_due(0, NOW.timestamp() + 400 * 86400)
    assert lifecycle.store.get(classified.key.decode()) is not None


def test_an_action_whose_request_never_came_is_dropped_after_a_day(lifecycle):
    lifecycle.on_action(action_record("TKT-NEVER", "reply", 0, "A-orphan"), 0)
    assert lifecycle.store.get("TKT-NEVER").status == "awaiting_request"
    lifecycle.fire_due(0, NOW.timestamp() + 86401)
    assert lifecycle.store.get("TKT-NEVER") is None


def test_a_ticket_resolved_long_ago_stays_for_its_retention_after_import(routing, short_policies, classifier):
    """A historical ticket (an imported sheet row) is kept a full retention period after it
    was processed, so importing the sheet again is recognised as a repeat."""
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    store = MemoryTicketStore()
    year_ago = NOW - timedelta(days=365)
    imported_at = NOW.timestamp()
    stage = LifecycleStage(
        CATALOG,
        routing=routing,
        policies=short_policies,
        store=store,
        index=index,
        open_tickets=counts,
        retention_seconds=3600,
        clock=lambda: imported_at,
    )
    classified = through_classify(classifier, raw_record(submitted=year_ago))
    ticket_id = classified.key.decode()
    stage.on_classified(classified.value, 0)
    resolve = (
        TicketAction(
            action_id="A-old", ticket_id=ticket_id, type="resolve", by="agent", at=year_ago + timedelta(hours=1)
        )
        .model_dump_json()
        .encode()
    )
    stage.on_action(resolve, 0)
    stage.fire_due(0, imported_at + 60)
    assert store.get(ticket_id) is not None
    assert stage.on_classified(classified.value, 0) == []  # the re-import is a repeat
    stage.fire_due(0, imported_at + 3601)
    assert store.get(ticket_id) is None


def test_an_action_on_another_partition_than_its_ticket_is_refused_with_the_cause(routing, short_policies):
    stage = LifecycleStage(
        CATALOG,
        routing=routing,
        policies=short_policies,
        store=MemoryTicketStore(),
        index=DeadlineIndex(),
        open_tickets=OpenTickets(),
        key_partition=lambda ticket_id: 3,
    )
    action = TicketAction(action_id="A9", ticket_id="TKT-P", type="reply", by="a", at=NOW)
    (output,) = stage.on_action(action.model_dump_json().encode(), 1, Source("t.tickets.actions", 1, 7))
    record = orjson.loads(output.value)
    assert record["error_code"] == "wrong_partition" and "murmur2" in record["reason"]
    assert stage.store.get("TKT-P") is None


def test_with_deferred_writes_a_new_ticket_is_kept_in_memory_and_listed_for_the_caller_to_write(lifecycle, classifier):
    classified = through_classify(classifier, raw_record())
    ticket_id = classified.key.decode()
    deferred: list[tuple[int, str]] = []
    outputs = lifecycle.on_classified(classified.value, 0, deferred=deferred)
    assert any(output.topic.startswith("t.dept.") for output in outputs)
    assert lifecycle.store.get(ticket_id) is not None and lifecycle.store.writes == []
    assert deferred == [(0, ticket_id)]
    # the next record of the ticket sees the state kept in memory: a repeat is recognised
    assert lifecycle.on_classified(classified.value, 0, deferred=deferred) == []


def test_actions_for_unknown_tickets_are_capped_and_kept_replayable(lifecycle):
    lifecycle.max_awaiting = 2
    outputs = []
    for number in range(3):
        action = TicketAction(action_id=f"A-{number}", ticket_id=f"EXT-{number}", type="progress", by="crm", at=NOW)
        outputs.append(lifecycle.on_action(action.model_dump_json().encode(), 0))
    assert [len(found) for found in outputs[:2]] == [0, 0] and lifecycle.open_tickets.awaiting() == 2
    ((refused,),) = outputs[2:]
    record = orjson.loads(refused.value)
    assert (refused.topic, record["error_code"], record["replay_topic"]) == (
        "t.requests.invalid",
        "too_many_unknown_tickets",
        "t.tickets.actions",
    )
    assert lifecycle.open_tickets.total() == 0  # ids awaiting a request are not open tickets
    again = TicketAction(action_id="A-5", ticket_id="EXT-0", type="reply", by="crm", at=NOW)
    assert lifecycle.on_action(again.model_dump_json().encode(), 0) == []  # a known id still holds more
