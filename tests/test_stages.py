"""The stages between topic bytes and outputs, with an in-memory ticket store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from streams import ids
from streams.catalog import TopicCatalog
from streams.domain.policies import PolicyFile
from streams.domain.tickets import TicketState
from streams.models import RawEnvelope, TicketAction
from streams.stages import ClassifyStage, IdentityStage, LifecycleStage, NormalizeStage, Source
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets

CATALOG = TopicCatalog("t.")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


class DictStore:
    def __init__(self):
        self.states: dict[str, bytes] = {}
        self.writes: list[tuple[int, str]] = []

    def get(self, ticket_id):
        raw = self.states.get(ticket_id)
        return None if raw is None else TicketState.model_validate_json(raw)

    def put(self, partition, state, changelog=True):
        self.states[state.ticket_id] = state.model_dump_json().encode()
        if changelog:
            self.writes.append((partition, state.ticket_id))

    def delete(self, partition, ticket_id):
        self.states.pop(ticket_id, None)

    def keys(self):
        return list(self.states)


def raw_record(text="我的订单破损了，申请退货", channel="app", key="k1", submitted=NOW):
    body = {"customer": {"phone": "13800000000"}, "text": text, "submitted_at": submitted.isoformat()}
    return RawEnvelope(
        channel=channel, received_at=submitted, adapter="test", idempotency_key=key,
        request_id=ids.request_id(channel, key), ticket_id=ids.ticket_id(channel, key),
        body=orjson.dumps(body).decode(),
    ).model_dump_json().encode()  # fmt: skip


@pytest.fixture
def short_policies():
    return PolicyFile.model_validate(
        {"warn_at": [0.5], "policies": [{"name": "short", "targets": {"first_response": "10s", "resolution": "60s"}}]}
    )


@pytest.fixture
def lifecycle(routing, short_policies):
    clock = {"now": NOW.timestamp()}
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    stage = LifecycleStage(CATALOG, routing=routing, policies=short_policies, store=DictStore(), index=index,
                           open_tickets=counts, clock=lambda: clock["now"])  # fmt: skip
    stage.test_clock = clock
    return stage


def through_classify(classifier, raw):
    (normalized,) = NormalizeStage(CATALOG).process(raw, "app")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    return classified


def test_normalize_keys_by_customer_and_writes_the_normalized_topic():
    (output,) = NormalizeStage(CATALOG).process(raw_record(), "app", Source("t.raw.app", 0, 7))
    assert output.topic == "t.requests.normalized"
    assert output.key.decode().startswith("CUS-")


def test_normalize_sends_a_malformed_record_to_invalid_with_its_source_and_bytes():
    (output,) = NormalizeStage(CATALOG).process(b"\x00garbage", "app", Source("t.raw.app", 1, 42))
    record = orjson.loads(output.value)
    assert output.topic == "t.requests.invalid"
    assert record["error_code"] == "invalid_envelope" and record["source"] == {"topic": "t.raw.app", "partition": 1, "offset": 42}
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
    return RawEnvelope(
        channel="phone", received_at=NOW, adapter="cti-webhook/v1", idempotency_key=f"c-1:{kind}",
        request_id=ids.request_id("phone", "c-1"), ticket_id=ids.ticket_id("phone", "c-1"), body=orjson.dumps(body).decode(),
    ).model_dump_json().encode()  # fmt: skip


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


class DictContacts(dict):
    def put(self, key, value):
        self[key] = value

    def delete(self, key):
        self.pop(key, None)


def test_identity_stage_indexes_a_profile_and_forgets_dropped_contacts():
    store = DictContacts()
    stage = IdentityStage(store)
    profile = {"customer_id": "CRM-1", "contacts": {"phones": ["13800000000"], "emails": ["a@b.cn"]}}
    stage.process(orjson.dumps(profile))
    assert stage.lookup("phone:13800000000") == "CRM-1" and stage.lookup("email:a@b.cn") == "CRM-1"
    stage.process(orjson.dumps({**profile, "contacts": {"phones": ["13800000000"]}}))
    assert stage.lookup("email:a@b.cn") is None and stage.lookup("phone:13800000000") == "CRM-1"


def test_identity_stage_ignores_an_invalid_profile():
    store = DictContacts()
    IdentityStage(store).process(b'{"contacts": 1}')
    assert store == {}


def test_an_unexpected_error_goes_to_invalid_instead_of_stopping(monkeypatch, classifier):
    stage = ClassifyStage(CATALOG, classifier)
    monkeypatch.setattr(stage.classifier, "classify", lambda *a, **k: 1 / 0)
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(), "app")
    (output,) = stage.process(normalized.value)
    record = orjson.loads(output.value)
    assert output.topic == "t.requests.invalid" and record["error_code"] == "processing_error"
    assert "ZeroDivisionError" in record["reason"]


def test_classify_keys_by_ticket_and_records_the_classification(classifier):
    classified = through_classify(classifier, raw_record())
    document = orjson.loads(classified.value)
    assert classified.key.decode() == document["request"]["ticket_id"]
    assert document["classification"]["type"] == "after_sales"


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
    lifecycle.rebuild({0}, lambda ticket: 0 if ticket == owned_ticket else 1)
    assert lifecycle.index.scheduled() == 1 and lifecycle.open_tickets.total() == 1


def test_rebuild_keeps_partitions_still_owned_and_reads_only_new_ones(lifecycle, classifier):
    lifecycle.on_classified(through_classify(classifier, raw_record(key="a")).value, 0)
    reads = []
    original_get = lifecycle.store.get
    lifecycle.store.get = lambda ticket_id: reads.append(ticket_id) or original_get(ticket_id)
    lifecycle.rebuild({0, 1}, lambda ticket: 0)
    assert reads == [] and lifecycle.index.scheduled() == 1 and sorted(lifecycle.index.partitions()) == [0, 1]


class DictWindowStore:
    def __init__(self):
        self.values: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.written: list[str] = []  # keys sent to the changelog, in order

    def get(self, key):
        raw = self.values.get(key)
        return None if raw is None else orjson.loads(raw)

    def put(self, partition, key, aggregate, changelog=True):
        self.values[key] = orjson.dumps(aggregate)
        if changelog:
            self.written.append(key)

    def delete(self, partition, key):
        self.values.pop(key, None)
        self.deleted.append(key)

    def keys(self):
        return list(self.values)


@pytest.fixture
def window_stage():
    from streams.stages import SlaWindowsStage

    clock = {"now": NOW.timestamp()}
    stage = SlaWindowsStage(CATALOG, store=DictWindowStore(), zone="Asia/Shanghai", grace_seconds=60,
                            retention_seconds={"hour": 7200, "day": 86400 * 3}, partition_of=lambda department: 0,
                            clock=lambda: clock["now"])  # fmt: skip
    stage.test_clock = clock
    return stage


def _facts_of(outputs):
    return [(0, output.value) for output in outputs if output.topic == "t.facts"]


def test_lifecycle_reports_received_responded_and_breached_facts(routing, short_policies, classifier):
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    stage = LifecycleStage(CATALOG, routing=routing, policies=short_policies, store=DictStore(), index=index,
                           open_tickets=counts, facts_topic="t.facts", clock=lambda: NOW.timestamp())  # fmt: skip
    classified = through_classify(classifier, raw_record())
    opened = stage.on_classified(classified.value, 0)
    fired = stage.fire_due(0, NOW.timestamp() + 10)
    kinds = [orjson.loads(value)["kind"] for _, value in _facts_of(opened + fired)]
    assert kinds == ["received", "breached"]
    assert {output.key for output in opened + fired if output.topic == "t.facts"} == {b"after_sales"}


def test_windows_count_facts_and_emit_a_closed_window_once(window_stage):
    from streams.domain import windows

    hour_ago = NOW.timestamp() - 7200
    facts = [windows.fact("received", at=hour_ago, department="product", channel="app", priority="high")] * 3
    window_stage.on_facts([(0, n, orjson.dumps(f)) for n, f in enumerate(facts)])
    (closed,) = window_stage.close_due({0})  # the hour window ended; the day window is still open
    event = orjson.loads(closed.value)
    assert closed.topic == "t.sla.windows" and closed.key == b"product"
    assert (event["type"], event["data"]["size"], event["data"]["received"]) == ("sla.window.closed", "hour", 3)
    assert window_stage.close_due({0}) == []


def test_with_deferred_writes_an_emitted_window_is_recorded_only_by_the_caller(window_stage):
    from streams.domain import windows

    hour_ago = NOW.timestamp() - 7200
    fact = windows.fact("received", at=hour_ago, department="product", channel="app", priority="high")
    counted: list[tuple[int, str]] = []
    window_stage.on_facts([(0, 0, orjson.dumps(fact))], deferred=counted)
    assert window_stage.store.written == [] and [key for _, key in counted][-1] == "__applied__|0"
    emitted: list[tuple[int, str]] = []
    (closed,) = window_stage.close_due({0}, deferred=emitted)
    assert window_stage.store.written == [] and len(emitted) == 1
    assert window_stage.close_due({0}) == []  # in memory it is emitted: not emitted twice


def test_a_late_fact_revises_a_closed_window(window_stage):
    from streams.domain import windows

    hour_ago = NOW.timestamp() - 7200
    fact = windows.fact("received", at=hour_ago, department="product", channel="app", priority="high")
    window_stage.on_facts([(0, 0, orjson.dumps(fact))])
    (first,) = window_stage.close_due({0})
    window_stage.on_facts([(0, 1, orjson.dumps(fact))])
    (revised,) = window_stage.close_due({0})
    assert orjson.loads(revised.value)["data"]["received"] == 2
    assert orjson.loads(revised.value)["id"] != orjson.loads(first.value)["id"]


def test_windows_past_retention_are_dropped_and_others_kept(window_stage):
    from streams.domain import windows

    old = windows.fact("received", at=NOW.timestamp() - 5 * 3600, department="ops", channel="app", priority="low")
    window_stage.on_facts([(0, 0, orjson.dumps(old))])
    window_stage.close_due({0})
    assert [key.split("|")[0] for key in window_stage.store.deleted] == ["hour"]
    assert [w["size"] for w in window_stage.current("ops")] == ["day"]


def test_windows_of_partitions_not_owned_are_left_alone(window_stage):
    from streams.domain import windows

    fact = windows.fact("received", at=NOW.timestamp() - 7200, department="product", channel="app", priority="high")
    window_stage.on_facts([(0, 0, orjson.dumps(fact))])
    assert window_stage.close_due({1, 2}) == []


def test_facts_read_again_after_a_restart_are_not_counted_twice(window_stage):
    from streams.domain import windows

    fact = orjson.dumps(windows.fact("received", at=NOW.timestamp() - 7200, department="ops", channel="app",
                                     priority="low"))  # fmt: skip
    window_stage.on_facts([(0, 10, fact), (0, 11, fact)])
    window_stage.on_facts([(0, 10, fact), (0, 11, fact), (0, 12, fact)])  # 10 and 11 again after a crash
    (hour,) = [w for w in window_stage.current("ops") if w["size"] == "hour"]
    assert hour["received"] == 3


def _action(ticket_id, kind, seconds, action_id):
    return TicketAction(action_id=action_id, ticket_id=ticket_id, type=kind, by="agent",
                        at=NOW + timedelta(seconds=seconds)).model_dump_json().encode()  # fmt: skip


def test_resolved_tickets_leave_the_table_after_their_retention(routing, short_policies, classifier):
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    store = DictStore()
    stage = LifecycleStage(CATALOG, routing=routing, policies=short_policies, store=store, index=index,
                           open_tickets=counts, retention_seconds=3600, clock=lambda: NOW.timestamp() + 5)  # fmt: skip
    classified = through_classify(classifier, raw_record())
    ticket_id = classified.key.decode()
    stage.on_classified(classified.value, 0)
    stage.on_action(_action(ticket_id, "resolve", 5, "A-resolve"), 0)
    assert stage.fire_due(0, NOW.timestamp() + 3000) == [] and store.get(ticket_id) is not None
    stage.fire_due(0, NOW.timestamp() + 3606)
    assert store.get(ticket_id) is None and index.scheduled() == 0


def test_open_tickets_never_expire(lifecycle, classifier):
    classified = through_classify(classifier, raw_record())
    lifecycle.on_classified(classified.value, 0)
    lifecycle.fire_due(0, NOW.timestamp() + 400 * 86400)
    assert lifecycle.store.get(classified.key.decode()) is not None


def test_an_action_whose_request_never_came_is_dropped_after_a_day(lifecycle):
    lifecycle.on_action(_action("TKT-NEVER", "reply", 0, "A-orphan"), 0)
    assert lifecycle.store.get("TKT-NEVER").status == "awaiting_request"
    lifecycle.fire_due(0, NOW.timestamp() + 86401)
    assert lifecycle.store.get("TKT-NEVER") is None


def test_a_ticket_resolved_long_ago_stays_for_its_retention_after_import(routing, short_policies, classifier):
    """A historical ticket (an imported sheet row) is kept a full retention period after it
    was processed, so importing the sheet again is recognised as a repeat."""
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    store = DictStore()
    year_ago = NOW - timedelta(days=365)
    imported_at = NOW.timestamp()
    stage = LifecycleStage(CATALOG, routing=routing, policies=short_policies, store=store, index=index,
                           open_tickets=counts, retention_seconds=3600, clock=lambda: imported_at)  # fmt: skip
    classified = through_classify(classifier, raw_record(submitted=year_ago))
    ticket_id = classified.key.decode()
    stage.on_classified(classified.value, 0)
    resolve = TicketAction(action_id="A-old", ticket_id=ticket_id, type="resolve", by="agent",
                           at=year_ago + timedelta(hours=1)).model_dump_json().encode()  # fmt: skip
    stage.on_action(resolve, 0)
    stage.fire_due(0, imported_at + 60)
    assert store.get(ticket_id) is not None
    assert stage.on_classified(classified.value, 0) == []  # the re-import is a repeat
    stage.fire_due(0, imported_at + 3601)
    assert store.get(ticket_id) is None


class DictCustomerStore:
    def __init__(self):
        self.records = {}

    def get(self, customer_id):
        return self.records.get(customer_id)

    def put(self, partition, customer_id, record):
        self.records[customer_id] = record


def test_classify_takes_the_segment_from_the_customers_crm_profile(classifier):
    from streams.models import CustomerProfile

    stage = ClassifyStage(CATALOG, classifier, DictCustomerStore())
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(text="请问营业时间是几点？"), "app")
    customer_id = normalized.key.decode()
    stage.on_profile(CustomerProfile(customer_id=customer_id, tier="vip").model_dump_json().encode(), 0)
    (classified,) = stage.process(normalized.value)
    classification = orjson.loads(classified.value)["classification"]
    assert classification["segment"] == "vip" and classification["urgency"] == "high"


def test_a_customer_is_new_until_thirty_local_days_have_passed_since_the_crm_date(classifier):
    from datetime import date

    from streams.models import CustomerProfile

    stage = ClassifyStage(CATALOG, classifier, DictCustomerStore(), local_zone="Asia/Shanghai")
    # 17:00 UTC on 19 November is already 01:00 on 20 November in Shanghai: day 30, no longer new.
    submitted = datetime(2026, 11, 19, 17, 0, tzinfo=timezone.utc)
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(text="请问营业时间是几点？", submitted=submitted), "app")
    profile = CustomerProfile(customer_id=normalized.key.decode(), customer_since=date(2026, 10, 21))
    stage.on_profile(profile.model_dump_json().encode(), 0)
    (classified,) = stage.process(normalized.value)
    assert orjson.loads(classified.value)["classification"]["segment"] == "regular"
    stage.local_zone = timezone.utc  # read in UTC the same moment is still 19 November: day 29
    (classified,) = stage.process(normalized.value)
    assert orjson.loads(classified.value)["classification"]["segment"] == "new"


def test_classify_links_a_repeated_request_to_the_earlier_ticket(classifier):
    stage = ClassifyStage(CATALOG, classifier, DictCustomerStore())
    first, second = (
        NormalizeStage(CATALOG).process(raw_record(text="订单2026051300123的包裹还没收到", key=key), "app")[0]
        for key in ("k1", "k2")
    )
    (one,) = stage.process(first.value)
    (two,) = stage.process(second.value)
    assert orjson.loads(one.value)["classification"]["repeat_of"] is None
    assert orjson.loads(two.value)["classification"]["repeat_of"] == one.key.decode()


def test_an_action_on_another_partition_than_its_ticket_is_refused_with_the_cause(routing, short_policies):
    stage = LifecycleStage(CATALOG, routing=routing, policies=short_policies, store=DictStore(), index=DeadlineIndex(),
                           open_tickets=OpenTickets(), key_partition=lambda ticket_id: 3)  # fmt: skip
    action = TicketAction(action_id="A9", ticket_id="TKT-P", type="reply", by="a", at=NOW)
    (output,) = stage.on_action(action.model_dump_json().encode(), 1, Source("t.tickets.actions", 1, 7))
    record = orjson.loads(output.value)
    assert record["error_code"] == "wrong_partition" and "murmur2" in record["reason"]
    assert stage.store.get("TKT-P") is None


# -- customer e-mail replies whose ticket is not found ---------------------------------------------

REPLY_HOLD = 600.0


def lifecycle_owning_partition_0(routing, policies, **options) -> LifecycleStage:
    """A lifecycle stage that owns partition 0, its clock stopped at NOW."""
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    return LifecycleStage(CATALOG, routing=routing, policies=policies, store=DictStore(), index=index,
                          open_tickets=counts, clock=lambda: NOW.timestamp(), **options)  # fmt: skip


@pytest.fixture
def mail_lifecycle(routing, short_policies):
    return lifecycle_owning_partition_0(routing, short_policies, reply_hold_seconds=REPLY_HOLD)


def mail_reply(answering="<news-7@shop.example>", message_id="<reply-1@mail.example.cn>",
               text="我的蓝牙耳机坏了，要求退货") -> TicketAction:  # fmt: skip
    from streams.adapters import email
    from tests.adapters import mails

    (action,) = email.mail_intake(mails.reply(answering, message_id=message_id, text=text), NOW).actions
    return action


def _promoted_total(reason="no_ticket", channel="email") -> float:
    from prometheus_client import REGISTRY

    labels = {"channel": channel, "reason": reason}
    return REGISTRY.get_sample_value("ticketflow_orphan_replies_promoted_total", labels) or 0.0


def test_a_reply_to_an_unknown_thread_becomes_exactly_one_request_after_the_hold(mail_lifecycle):
    reply = mail_reply()
    before = _promoted_total()
    assert mail_lifecycle.on_action(reply.model_dump_json().encode(), 0) == []
    assert mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD - 1) == []
    (output,) = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    envelope = RawEnvelope.model_validate_json(output.value)
    assert output.topic == "t.raw.email" and envelope.adapter == "email-reply/v1"
    assert envelope.ticket_id == ids.ticket_id("email", "reply-1@mail.example.cn")
    assert _promoted_total() == before + 1


def test_a_second_timer_pass_or_a_repeated_reply_publishes_no_second_request(mail_lifecycle):
    raw = mail_reply().model_dump_json().encode()
    mail_lifecycle.on_action(raw, 0)
    mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    assert mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD + 60) == []
    assert mail_lifecycle.on_action(raw, 0) == []  # the same mail delivered again
    assert mail_lifecycle.fire_due(0, NOW.timestamp() + 3 * REPLY_HOLD) == []


def test_a_promoted_reply_opens_a_routed_ticket_that_says_where_it_came_from(mail_lifecycle, classifier):
    reply = mail_reply()
    mail_lifecycle.on_action(reply.model_dump_json().encode(), 0)
    (promoted,) = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    (normalized,) = NormalizeStage(CATALOG).process(promoted.value, "email")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    outputs = mail_lifecycle.on_classified(classified.value, 0)
    (owner,) = [event for event in (orjson.loads(o.value) for o in outputs if o.topic.startswith("t.dept."))
                if event["data"]["role"] == "owner"]  # fmt: skip
    origin = owner["data"]["origin"]
    assert (origin["kind"], origin["reason"]) == ("unmatched_reply", "no_ticket")
    assert origin["thread_ticket"] == reply.ticket_id
    assert origin["thread_message_id"] == "news-7@shop.example" and owner["data"]["text"].startswith("我的蓝牙耳机坏了")
    assert mail_lifecycle.on_classified(classified.value, 0) == []  # a repeated promotion collapses here


def test_a_reply_whose_thread_request_arrives_within_the_hold_applies_to_that_ticket(mail_lifecycle, classifier):
    reply = mail_reply()
    mail_lifecycle.on_action(reply.model_dump_json().encode(), 0)
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(channel="email", key="news-7@shop.example"), "email")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    assert classified.key.decode() == reply.ticket_id
    mail_lifecycle.on_classified(classified.value, 0)
    assert reply.action_id in mail_lifecycle.store.get(reply.ticket_id).recent_action_ids
    later = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD + 1)
    assert [output for output in later if output.topic == "t.raw.email"] == []


def test_the_timer_records_a_promotion_in_the_changelog_only_once_acknowledged(mail_lifecycle):
    reply = mail_reply()
    mail_lifecycle.on_action(reply.model_dump_json().encode(), 0)
    store = mail_lifecycle.store
    store.writes.clear()
    deferred: list[tuple[int, str]] = []
    assert len(mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD, deferred=deferred)) == 1
    assert store.writes == [] and deferred == [(0, reply.ticket_id)]


def test_a_promotion_repeated_after_a_crash_carries_the_same_ids(mail_lifecycle, routing, short_policies):
    mail_lifecycle.on_action(mail_reply().model_dump_json().encode(), 0)
    saved = dict(mail_lifecycle.store.states)  # the changelog: the promotion was never acknowledged
    (first,) = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD, deferred=[])
    restarted = DictStore()
    restarted.states = saved
    stage = LifecycleStage(CATALOG, routing=routing, policies=short_policies, store=restarted, index=DeadlineIndex(),
                           open_tickets=OpenTickets(), reply_hold_seconds=REPLY_HOLD)  # fmt: skip
    stage.rebuild({0}, lambda ticket: 0)
    (again,) = stage.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    assert (again.key, again.value) == (first.key, first.value)


def test_a_reply_to_a_closed_ticket_becomes_a_request_at_once(mail_lifecycle, classifier):
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(channel="email", key="news-7@shop.example"), "email")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    mail_lifecycle.on_classified(classified.value, 0)
    ticket_id = classified.key.decode()
    mail_lifecycle.on_action(_action(ticket_id, "close", 60, "A-close"), 0)
    before = _promoted_total("ticket_closed")
    outputs = mail_lifecycle.on_action(mail_reply().model_dump_json().encode(), 0)
    (promoted,) = [RawEnvelope.model_validate_json(o.value) for o in outputs if o.topic == "t.raw.email"]
    assert orjson.loads(promoted.body)["origin"]["thread_ticket"] == ticket_id
    assert _promoted_total("ticket_closed") == before + 1


def test_a_follow_up_to_the_answer_on_a_promoted_reply_moves_the_promoted_ticket(mail_lifecycle, classifier):
    mail_lifecycle.on_action(mail_reply().model_dump_json().encode(), 0)
    (promoted,) = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    (normalized,) = NormalizeStage(CATALOG).process(promoted.value, "email")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    mail_lifecycle.on_classified(classified.value, 0)
    ticket = classified.key.decode()

    from streams.adapters import email
    from tests.adapters import mails

    conversation = "<news-7@shop.example> <reply-1@mail.example.cn> <agent-answer@desk.shop.example>"
    raw = mails.reply("<agent-answer@desk.shop.example>", message_id="<reply-2@mail.example.cn>", text="还是不能充电",
                      references=conversation)  # fmt: skip
    (follow_up,) = email.mail_intake(raw, NOW).actions
    (forwarded,) = mail_lifecycle.on_action(follow_up.model_dump_json().encode(), 0)
    assert forwarded.topic == "t.tickets.actions" and forwarded.key == ticket.encode()
    mail_lifecycle.on_action(forwarded.value, 0)
    assert mail_lifecycle.store.get(ticket).last_action == TicketAction.model_validate_json(forwarded.value).action_id
    later = mail_lifecycle.fire_due(0, NOW.timestamp() + 3 * REPLY_HOLD)
    assert [output for output in later if output.topic == "t.raw.email"] == []  # nothing else is promoted


# -- web chat follow-ups whose conversation has no ticket ------------------------------------------

CHAT_HOLD = 120.0


@pytest.fixture
def chat_lifecycle(routing, short_policies):
    return lifecycle_owning_partition_0(routing, short_policies, reply_hold_seconds=REPLY_HOLD,
                                        chat_reply_hold_seconds=CHAT_HOLD)  # fmt: skip


def chat_follow_up(message_id="m-2", seq=2, text="我的订单还没发货，请帮我查一下", sent=NOW) -> TicketAction:
    import json

    from streams.adapters import webhook
    from streams.adapters.base import HttpInput
    from tests.adapters import platforms

    secret = b"webchat-secret-0123456789"
    body = json.dumps({"conversation_id": "cv-orphan", "message_id": message_id, "seq": seq, "text": text,
                       "sent_at": sent.isoformat(), "visitor": {"visitor_id": "v-8"}}, ensure_ascii=False).encode()  # fmt: skip
    call = HttpInput.of("POST", {}, platforms.signed_headers(secret, body, int(NOW.timestamp())), body, received_at=sent)
    (action,) = webhook.accept("webchat", call, secret).actions
    return action


def _through_normalize_and_classify(promoted, classifier):
    (normalized,) = NormalizeStage(CATALOG).process(promoted.value, "webchat")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    return classified


def test_a_web_chat_follow_up_without_its_conversation_becomes_one_request_after_the_chat_hold(chat_lifecycle):
    follow_up = chat_follow_up()
    before = _promoted_total(channel="webchat")
    assert chat_lifecycle.on_action(follow_up.model_dump_json().encode(), 0) == []
    assert chat_lifecycle.fire_due(0, NOW.timestamp() + CHAT_HOLD - 1) == []
    (output,) = chat_lifecycle.fire_due(0, NOW.timestamp() + CHAT_HOLD)
    envelope = RawEnvelope.model_validate_json(output.value)
    assert output.topic == "t.raw.webchat" and envelope.adapter == "webchat-reply/v1"
    assert envelope.ticket_id == follow_up.ticket_id == ids.ticket_id("webchat", "cv-orphan")
    assert _promoted_total(channel="webchat") == before + 1
    assert chat_lifecycle.fire_due(0, NOW.timestamp() + 3 * CHAT_HOLD) == []  # a second timer pass
    assert chat_lifecycle.on_action(follow_up.model_dump_json().encode(), 0) == []  # a redelivery


def test_a_promoted_follow_up_opens_the_conversation_ticket_with_its_origin_and_later_messages_apply(
    chat_lifecycle, classifier
):  # fmt: skip
    first, second = chat_follow_up(), chat_follow_up("m-3", 3, "还有发票", NOW + timedelta(seconds=30))
    chat_lifecycle.on_action(first.model_dump_json().encode(), 0)
    chat_lifecycle.on_action(second.model_dump_json().encode(), 0)
    (promoted,) = chat_lifecycle.fire_due(0, NOW.timestamp() + CHAT_HOLD + 30)  # both waited: one request
    classified = _through_normalize_and_classify(promoted, classifier)
    outputs = chat_lifecycle.on_classified(classified.value, 0)
    (owner,) = [event for event in (orjson.loads(o.value) for o in outputs if o.topic.startswith("t.dept."))
                if event["data"]["role"] == "owner"]  # fmt: skip
    assert owner["subject"] == first.ticket_id and owner["data"]["text"].startswith("我的订单还没发货")
    assert (owner["data"]["origin"]["reason"], owner["data"]["origin"]["thread_ticket"]) == ("no_ticket", first.ticket_id)
    state = chat_lifecycle.store.get(first.ticket_id)
    assert state.origin.reply_action_id == first.action_id and state.last_action == second.action_id
    third = chat_follow_up("m-4", 4, "在吗", NOW + timedelta(seconds=200))
    chat_lifecycle.on_action(third.model_dump_json().encode(), 0)
    assert chat_lifecycle.store.get(first.ticket_id).last_action == third.action_id
    assert chat_lifecycle.on_classified(classified.value, 0) == []  # a repeated promotion collapses here


def test_an_opening_message_that_arrives_after_its_follow_up_opened_the_ticket_reaches_the_ticket_once(
    chat_lifecycle, classifier
):  # fmt: skip
    follow_up = chat_follow_up()
    chat_lifecycle.on_action(follow_up.model_dump_json().encode(), 0)
    (promoted,) = chat_lifecycle.fire_due(0, NOW.timestamp() + CHAT_HOLD)
    chat_lifecycle.on_classified(_through_normalize_and_classify(promoted, classifier).value, 0)
    # seq 1, delayed in a lagging stage: same conversation, hence the same request id.
    opening = raw_record(text="你好，想问一下订单2026051300123", channel="webchat", key="cv-orphan")
    (normalized,) = NormalizeStage(CATALOG).process(opening, "webchat")
    (late,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    (passed_on,) = chat_lifecycle.on_classified(late.value, 0)
    action = TicketAction.model_validate_json(passed_on.value)
    assert passed_on.topic == "t.tickets.actions" and action.ticket_id == follow_up.ticket_id
    assert action.type == "customer_reply" and action.note.endswith("你好，想问一下订单2026051300123")
    chat_lifecycle.on_action(passed_on.value, 0)
    assert chat_lifecycle.store.get(follow_up.ticket_id).last_action == action.action_id
    assert chat_lifecycle.on_classified(late.value, 0) == []  # a redelivery of it adds nothing


def test_with_deferred_writes_a_new_ticket_is_kept_in_memory_and_listed_for_the_caller_to_write(
    lifecycle, classifier
):  # fmt: skip
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
        "t.requests.invalid", "too_many_unknown_tickets", "t.tickets.actions")
    assert lifecycle.open_tickets.total() == 0  # ids awaiting a request are not open tickets
    again = TicketAction(action_id="A-5", ticket_id="EXT-0", type="reply", by="crm", at=NOW)
    assert lifecycle.on_action(again.model_dump_json().encode(), 0) == []  # a known id still holds more
