"""The pipeline stages between bytes on a topic and bytes to send, without faust.

Each stage decodes a record, calls the pure domain functions, counts what happened and
returns `Output`s; the faust agents (streams/agents/) are loops that feed records in and
send what comes out. A record a stage cannot handle — malformed, or a bug — becomes a
record on `requests.invalid` carrying the reason and the original bytes; it never stops
the stage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol
from zoneinfo import ZoneInfo

import orjson
from pydantic import ValidationError

from streams import ids, metrics, records
from streams.adapters import replies
from streams.catalog import TopicCatalog
from streams.records import Output, Source
from streams.domain import customers, events, text, tickets, windows
from streams.domain.classification import Classifier
from streams.domain.identity import Lookup, index_update
from streams.adapters.normalize import Rejection, Skip, describe_validation_error, normalize_record
from streams.domain.policies import PolicyFile
from streams.domain.routing import RoutingConfig
from streams.domain.tickets import Outcome, Retention, TicketState
from streams.models import CanonicalRequest, ClassifiedRequest, CustomerProfile, TicketAction
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets

log = logging.getLogger(__name__)


# Kafka protocol binding of CloudEvents, structured content mode: the value is the whole event.
CLOUDEVENT_HEADERS: tuple[tuple[str, bytes], ...] = (("content-type", b"application/cloudevents+json; charset=utf-8"),)


def invalid_output(catalog: TopicCatalog, *, stage: str, channel: str, rejection: Rejection, raw: bytes,
                   **where: object) -> Output:  # fmt: skip
    """A rejected record for `requests.invalid` (streams/records.py), counted by stage and code."""
    metrics.INVALID_RECORDS.labels(channel, stage, rejection.error_code).inc()
    return records.invalid_output(catalog, stage=stage, channel=channel, rejection=rejection, raw=raw, **where)


def _guard(stage: str, catalog: TopicCatalog, channel: str, raw: bytes, source: Source | None, replay_topic: str | None,
           step: Callable[[], list[Output]]) -> list[Output]:  # fmt: skip
    """Run one record's step; an unexpected error sends the record to requests.invalid."""
    try:
        return step()
    except Exception as exc:  # noqa: BLE001 - one bad record must never stop the stage
        log.exception("%s: unexpected error on record at %s", stage, source)
        metrics.STAGE_ERRORS.labels(stage).inc()
        rejection = Rejection("processing_error", f"{type(exc).__name__}: {exc}")
        return [
            invalid_output(
                catalog, stage=stage, channel=channel, rejection=rejection, raw=raw, source=source,
                replay_topic=replay_topic,
            )
        ]  # fmt: skip


_DURATION_HISTOGRAMS = {
    "first_response": metrics.FIRST_RESPONSE_SECONDS,
    "next_response": metrics.NEXT_RESPONSE_SECONDS,
    "resolution": metrics.RESOLUTION_SECONDS,
}


class NormalizeStage:
    """raw.<channel> → requests.normalized (keyed by customer id) or requests.invalid.

    Records that are part of a channel's log but not a request (a call being offered, a WeChat
    Work event) produce nothing and are counted. `contacts` is the contact index (contact key →
    customer id, see streams/domain/identity.py); without it customers get the fallback id.
    """

    def __init__(self, catalog: TopicCatalog, contacts: Lookup | None = None) -> None:
        self.catalog = catalog
        self.contacts = contacts

    def process(self, raw: bytes, channel: str, source: Source | None = None) -> list[Output]:
        return _guard("normalize", self.catalog, channel, raw, source, self.catalog.raw(channel),
                      lambda: self._process(raw, channel, source))  # fmt: skip

    def _process(self, raw: bytes, channel: str, source: Source | None) -> list[Output]:
        found: list[str] = []
        lookup = None
        if self.contacts is not None:
            contacts = self.contacts

            def lookup(key: str) -> str | None:
                customer = contacts(key)
                if customer and not found:
                    found.append(key.split(":", 1)[0])
                return customer

        result, envelope = normalize_record(raw, lookup)
        if isinstance(result, Skip):
            metrics.RAW_SKIPPED.labels(channel, result.kind).inc()
            return []
        if envelope is not None and envelope.channel != channel:
            result = Rejection(
                "channel_mismatch",
                f"envelope says channel {envelope.channel!r} but arrived on the topic of channel {channel!r}",
            )
        if isinstance(result, Rejection):
            return [
                invalid_output(
                    self.catalog, stage="normalize", channel=channel, rejection=result, raw=raw, source=source,
                    request_id=envelope.request_id if envelope else None, envelope=envelope,
                    replay_topic=self.catalog.raw(channel),
                )
            ]  # fmt: skip
        metrics.REQUESTS_NORMALIZED.labels(channel).inc()
        metrics.CUSTOMERS_RESOLVED.labels(f"profile:{found[0]}" if found else "fallback").inc()
        return [Output(self.catalog.requests_normalized, result.customer_id.encode(), result.model_dump_json().encode())]


class ContactStore(Protocol):
    """The contact index as the identity stage sees it (keys are strings, values customer ids
    or, under `profile_key`, the profile's contact keys)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


class IdentityStage:
    """customers.profiles → the contact index: each contact id of a profile points at its
    customer id; contacts a profile dropped are removed. Entries: `c:<contact key>` → customer
    id, and `p:<customer id>` → the profile's contact keys (to know what it dropped next time).
    """

    def __init__(self, store: ContactStore) -> None:
        self.store = store

    def lookup(self, contact_key: str) -> str | None:
        return self.store.get("c:" + contact_key)

    def process(self, raw: bytes, source: Source | None = None) -> None:
        try:
            profile = CustomerProfile.model_validate_json(raw)
        except ValidationError as exc:
            reason, _ = describe_validation_error(exc)
            log.warning("identity: ignoring an invalid profile at %s: %s", source, reason)
            metrics.CONTACT_INDEX_UPDATES.labels("invalid_profile").inc()
            return
        previous_raw = self.store.get("p:" + profile.customer_id)
        previous = orjson.loads(previous_raw) if previous_raw else []
        update = index_update(profile, previous, self.lookup)
        for key, customer_id in update.put.items():
            self.store.put("c:" + key, customer_id)
            metrics.CONTACT_INDEX_UPDATES.labels("put").inc()
        for key in update.delete:
            self.store.delete("c:" + key)
            metrics.CONTACT_INDEX_UPDATES.labels("delete").inc()
        if update.contacts != previous:
            self.store.put("p:" + profile.customer_id, orjson.dumps(update.contacts).decode())


class CustomerStore(Protocol):
    """Per-customer records (segment, recent requests), co-partitioned with requests.normalized."""

    def get(self, customer_id: str) -> customers.CustomerRecord | None: ...

    def put(self, partition: int, customer_id: str, record: customers.CustomerRecord) -> None: ...


class ClassifyStage:
    """requests.normalized → requests.classified (keyed by ticket id), with the customer's segment
    from customers.profiles and repeat requests linked to the earlier ticket."""

    def __init__(
        self,
        catalog: TopicCatalog,
        classifier: Classifier,
        customer_store: CustomerStore | None = None,
        *,
        repeat_window_seconds: float = 72 * 3600,
        new_customer_days: int = 30,
        key_partition: Callable[[str], int] | None = None,
        local_zone: str = "Asia/Shanghai",
    ) -> None:
        self.catalog = catalog
        self.classifier = classifier
        self.customers = customer_store
        self.key_partition = key_partition
        self.repeat_window = repeat_window_seconds
        self.new_customer_days = new_customer_days
        self.local_zone = ZoneInfo(local_zone)  # the CRM's "customer since" is a local date

    def process(self, raw: bytes, source: Source | None = None, partition: int = 0) -> list[Output]:
        return _guard("classify", self.catalog, "unknown", raw, source, self.catalog.requests_normalized,
                      lambda: self._process(raw, source, partition))  # fmt: skip

    def on_profile(self, raw: bytes, partition: int, source: Source | None = None) -> None:
        """A CRM profile (customers.profiles): remember the customer's tier and since-date."""
        if self.customers is None:
            return
        try:
            profile = CustomerProfile.model_validate_json(raw)
        except ValidationError:
            return  # the identity agent reports unreadable profiles; nothing to count twice
        # Stored under the customer's own partition (where its requests arrive), whichever
        # partition the CRM's client produced the profile to.
        home = self.key_partition(profile.customer_id) if self.key_partition is not None else partition
        self.customers.put(home, profile.customer_id,
                           customers.apply_profile(self.customers.get(profile.customer_id), profile))  # fmt: skip

    def _process(self, raw: bytes, source: Source | None, partition: int) -> list[Output]:
        try:
            request = CanonicalRequest.model_validate_json(raw)
        except ValidationError as exc:
            reason, details = describe_validation_error(exc)
            return [
                invalid_output(
                    self.catalog, stage="classify", channel="unknown", raw=raw, source=source,
                    rejection=Rejection("invalid_request", f"not a normalized request: {reason}", details),
                    replay_topic=self.catalog.requests_normalized,
                )
            ]  # fmt: skip
        record = self.customers.get(request.customer_id) if self.customers is not None else None
        today = request.submitted_at.astimezone(self.local_zone).date()
        segment = customers.segment(record, request.customer.tier, today, self.new_customer_days)
        classification = self.classifier.classify(request.text, request.subject, segment=segment)
        if self.customers is not None:
            # The same text the classifier read, so its segmentation comes from the cache.
            body = f"{request.subject}\n{request.text}" if request.subject else request.text
            tokens = customers.significant_tokens(text.tokens(text.normalize(body)))
            submitted_at = request.submitted_at.timestamp()
            facts = dict(ticket_id=request.ticket_id, request_type=classification.type, tokens=tokens,
                         submitted_at=submitted_at, window=self.repeat_window)  # fmt: skip
            repeat_of = customers.find_repeat(record, **facts)
            if repeat_of is not None:
                classification.repeat_of = repeat_of
                classification.reasons.append(f"repeat of {repeat_of} (same customer, same issue)")
                metrics.REPEATS.labels(request.channel, classification.type).inc()
            self.customers.put(partition, request.customer_id, customers.remember(record, **facts))
        metrics.CLASSIFIED.labels(classification.type, classification.urgency).inc()
        classified = ClassifiedRequest(request=request, classification=classification)
        return [Output(self.catalog.requests_classified, request.ticket_id.encode(), classified.model_dump_json().encode())]


class TicketStore(Protocol):
    """The tickets table, as the lifecycle stage sees it."""

    def get(self, ticket_id: str) -> TicketState | None: ...

    def put(self, partition: int, state: TicketState, *, changelog: bool = True) -> None: ...

    def delete(self, partition: int, ticket_id: str) -> None: ...

    def keys(self) -> Iterable[str]: ...


class LifecycleStage:
    """Tickets and their SLA clocks: requests.classified + tickets.actions → dept.* and sla.events.

    Routing happens here, where the ticket is created, so a repeated request (same ticket id)
    is recognised against the table and never routed twice.

    A customer's reply whose ticket is not found becomes a request of its own: after the hold
    (`reply_hold_seconds` for e-mail, `chat_reply_hold_seconds` for web chat; the timer) or at
    once when the ticket is closed, it is published to raw.<channel> — the intake — and goes
    through normalize and classify like any request (see streams/adapters/email.py for why it
    is decided here and not at the edge). A web chat follow-up whose conversation has no ticket
    opens the conversation's own ticket that way (streams/domain/tickets.py).
    """

    def __init__(
        self,
        catalog: TopicCatalog,
        *,
        routing: RoutingConfig,
        policies: PolicyFile,
        store: TicketStore,
        index: DeadlineIndex,
        open_tickets: OpenTickets,
        facts_topic: str | None = None,
        key_partition: Callable[[str], int] | None = None,
        retention_seconds: float = 30 * 86400,
        orphan_retention_seconds: float = 86400,
        max_awaiting: int = 100_000,
        reply_hold_seconds: float = 15 * 60,
        chat_reply_hold_seconds: float = 2 * 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog = catalog
        self.facts_topic = facts_topic
        self.key_partition = key_partition
        self.retention = Retention(retention_seconds, orphan_retention_seconds, reply_hold_seconds,
                                   chat_reply_hold_seconds)  # fmt: skip
        self.routing = routing
        self.policies = policies
        self.store = store
        self.index = index
        self.open_tickets = open_tickets
        self.max_awaiting = max_awaiting
        self.clock = clock

    # -- inputs -----------------------------------------------------------------------------

    def on_classified(self, raw: bytes, partition: int, source: Source | None = None, *,
                      deferred: list[tuple[int, str]] | None = None) -> list[Output]:  # fmt: skip
        """A classified request. With `deferred`, the new ticket state is kept in memory and
        listed there instead of written to the changelog: the caller writes it once the
        outputs are acknowledged (streams/state/pending_writes.py)."""
        return _guard("lifecycle", self.catalog, "unknown", raw, source, self.catalog.requests_classified,
                      lambda: self._on_classified(raw, partition, source, deferred))  # fmt: skip

    def on_action(self, raw: bytes, partition: int, source: Source | None = None, *,
                  deferred: list[tuple[int, str]] | None = None) -> list[Output]:  # fmt: skip
        """An action on a ticket; `deferred` as for `on_classified`."""
        return _guard("lifecycle", self.catalog, "unknown", raw, source, self.catalog.tickets_actions,
                      lambda: self._on_action(raw, partition, source, deferred))  # fmt: skip

    def _on_classified(self, raw: bytes, partition: int, source: Source | None,
                       deferred: list[tuple[int, str]] | None = None) -> list[Output]:  # fmt: skip
        try:
            classified = ClassifiedRequest.model_validate_json(raw)
        except ValidationError as exc:
            return [self._reject(raw, source, exc, "not a classified request", self.catalog.requests_classified)]
        if (wrong := self._wrong_partition(classified.request.ticket_id, partition, raw, source)) is not None:
            return [wrong]
        now = self.clock()
        before = self.store.get(classified.request.ticket_id)
        outcome = tickets.open_ticket(before, classified, routing=self.routing, policies=self.policies, now=now)
        if outcome.duplicate:
            metrics.DUPLICATES.labels("request").inc()
            return []
        return self._commit(partition, OpenTickets.key(before), outcome, classified, now, deferred=deferred)

    def _on_action(self, raw: bytes, partition: int, source: Source | None,
                   deferred: list[tuple[int, str]] | None = None) -> list[Output]:  # fmt: skip
        try:
            action = TicketAction.model_validate_json(raw)
        except ValidationError as exc:
            return [self._reject(raw, source, exc, "not a ticket action", self.catalog.tickets_actions)]
        if action.type == "transfer" and action.department not in self.routing.departments:
            rejection = Rejection(
                "unknown_department",
                f"transfer to {action.department!r}: not a department of the routing file "
                f"({sorted(self.routing.departments)})",
            )
            return [
                invalid_output(self.catalog, stage="lifecycle", channel=action.channel or "unknown",
                               rejection=rejection, raw=raw, source=source, request_id=action.action_id,
                               replay_topic=self.catalog.tickets_actions)
            ]  # fmt: skip
        if (wrong := self._wrong_partition(action.ticket_id, partition, raw, source)) is not None:
            return [wrong]
        now = self.clock()
        before = self.store.get(action.ticket_id)
        if before is None and self.open_tickets.awaiting() >= self.max_awaiting:
            metrics.AWAITING_REFUSED.inc()
            rejection = Rejection(
                "too_many_unknown_tickets",
                f"{self.max_awaiting} ticket ids already hold actions for a request not seen yet "
                f"(TICKETFLOW_MAX_AWAITING_TICKETS); replay this action once its request has arrived",
            )
            return [invalid_output(self.catalog, stage="lifecycle", channel=action.channel or "unknown",
                                   rejection=rejection, raw=raw, source=source, request_id=action.action_id,
                                   replay_topic=self.catalog.tickets_actions)]  # fmt: skip
        was_open = OpenTickets.key(before)  # before apply_action changes the state in place
        outcome = tickets.apply_action(before, action, policies=self.policies, now=now)
        if outcome.duplicate:
            metrics.DUPLICATES.labels("action").inc()
            return []
        if outcome.rejection is not None:
            return [
                invalid_output(self.catalog, stage="lifecycle", channel=action.channel or "unknown",
                               rejection=Rejection(outcome.rejection_code, outcome.rejection), raw=raw, source=source,
                               request_id=action.action_id, replay_topic=None)
            ]  # fmt: skip
        metrics.ACTIONS.labels(action.type).inc()
        return self._commit(partition, was_open, outcome, None, now, deferred=deferred)

    def fire_due(
        self, partition: int, now: float, limit: int = 2000, *, upto: float | None = None,
        deferred: list[tuple[int, str]] | None = None,
    ) -> list[Output]:  # fmt: skip
        """The timer's step for one owned partition: emit every point due by `upto` (default
        `now`), publish held replies (e-mail, web chat) whose ticket did not turn up within the hold as
        requests of their own, and drop tickets whose retention has run out.

        With `deferred`, the new states are kept in memory and listed there instead of being
        written to the changelog: the caller writes them once the events are acknowledged, so
        a crash can repeat an event (same id) but never record one as fired that was not sent.
        A ticket that cannot be read is skipped and counted, never fatal."""
        upto = now if upto is None else min(upto, now)
        outputs: list[Output] = []
        for ticket_id in self.index.pop_due(partition, upto, limit):
            try:
                state = self.store.get(ticket_id)
                if state is None:
                    continue
                outcome = tickets.fire_due(state, now=now, upto=upto, reply_hold=self.retention.reply_holds)
                if outcome.state is not None:
                    outputs.extend(self._commit(partition, OpenTickets.key(state), outcome, None, now,
                                                deferred=deferred, from_timer=True))  # fmt: skip
                    continue
                expires = state.expires_at(self.retention)
                if expires is not None and expires <= upto and state.next_due() is None:
                    self.store.delete(partition, ticket_id)
                    self.open_tickets.update(partition, OpenTickets.key(state), None)  # an id awaiting its request
                    metrics.TICKETS_EXPIRED.labels(state.status).inc()
                    continue
                self.index.schedule(partition, ticket_id, state.wake_at(self.retention))
            except Exception:  # noqa: BLE001 - one unreadable ticket must not stop every clock
                log.exception("SLA timer: ticket %s skipped", ticket_id)
                metrics.STAGE_ERRORS.labels("timer").inc()
        return outputs

    # -- ownership ---------------------------------------------------------------------------

    def rebuild(self, partitions: set[int], partition_of: Callable[[str], int]) -> None:
        """After a rebalance and table recovery: index and count what the owned partitions hold."""
        for _ in self.rebuild_in_steps(partitions, partition_of):
            pass

    def rebuild_in_steps(
        self, partitions: set[int], partition_of: Callable[[str], int], step: int = 10_000
    ) -> Iterator[int]:
        """`rebuild`, yielding the number of tickets seen every `step` tickets so a caller can
        let other work run in between (a million tickets take tens of seconds). Partitions
        already indexed are kept as they are; only newly assigned ones are read."""
        indexed = set(self.index.partitions())
        self.index.drop(indexed - partitions)
        self.open_tickets.drop(indexed - partitions)
        new = partitions - indexed
        self.index.assign(new)
        self.open_tickets.assign(new)
        seen = 0
        for ticket_id in self.store.keys():
            seen += 1
            if seen % step == 0:
                yield seen
            partition = partition_of(ticket_id)
            if partition not in new:
                continue
            try:
                state = self.store.get(ticket_id)
            except Exception:  # noqa: BLE001 - an unreadable ticket is skipped, not fatal
                log.exception("index rebuild: ticket %s skipped", ticket_id)
                metrics.STAGE_ERRORS.labels("timer").inc()
                continue
            if state is None:
                continue
            self.index.schedule(partition, ticket_id, state.wake_at(self.retention))
            self.open_tickets.update(partition, None, OpenTickets.key(state))
        yield seen

    def revoke(self, partitions: Iterable[int]) -> None:
        partitions = list(partitions)
        self.index.drop(partitions)
        self.open_tickets.drop(partitions)

    # -- helpers -----------------------------------------------------------------------------

    def _wrong_partition(self, ticket_id: str, partition: int, raw: bytes, source: Source | None) -> Output | None:
        """A record on another partition than its ticket's would be applied by a worker that does
        not hold the ticket: refuse it, naming the cause (a producer not using Kafka's default
        murmur2 partitioner)."""
        if self.key_partition is None or (expected := self.key_partition(ticket_id)) == partition:
            return None
        rejection = Rejection(
            "wrong_partition",
            f"ticket {ticket_id} belongs to partition {expected}, the record came on partition {partition}: "
            "produce keyed by ticket id with Kafka's default partitioner (murmur2; librdkafka clients: "
            "partitioner=murmur2_random)",
        )
        return invalid_output(self.catalog, stage="lifecycle", channel="unknown", rejection=rejection, raw=raw,
                              source=source, replay_topic=source.topic if source else None)  # fmt: skip

    def _reject(self, raw: bytes, source: Source | None, exc: ValidationError, what: str, topic: str) -> Output:
        reason, details = describe_validation_error(exc)
        return invalid_output(
            self.catalog, stage="lifecycle", channel="unknown", raw=raw, source=source,
            rejection=Rejection("invalid_record", f"{what}: {reason}", details), replay_topic=topic,
        )  # fmt: skip

    def _commit(
        self, partition: int, was_open: tuple[str, str] | None, outcome: Outcome,
        classified: ClassifiedRequest | None, now: float, *, deferred: list[tuple[int, str]] | None = None,
        from_timer: bool = False,
    ) -> list[Output]:  # fmt: skip
        """Build what the step emits, then record the new state (in memory at once; in the
        changelog now, or — `deferred` — once the caller has the events acknowledged)."""
        state = outcome.state
        assert state is not None
        outputs = list(self._emit(state, outcome, classified, now, from_timer=from_timer))
        self.store.put(partition, state, changelog=deferred is None)
        if deferred is not None:
            deferred.append((partition, state.ticket_id))
        self.index.schedule(partition, state.ticket_id, state.wake_at(self.retention))
        self.open_tickets.update(partition, was_open, OpenTickets.key(state))
        return outputs

    def _facts(self, state: TicketState, outcome: Outcome) -> Iterator[Output]:
        """Facts for the SLA windows (received, responded, resolved, breached), keyed by department."""
        if self.facts_topic is None:
            return
        where = {"department": state.department or "unknown", "channel": state.channel or "unknown",
                 "priority": state.urgency or "unknown"}  # fmt: skip
        found = []
        if outcome.opened and state.submitted_at is not None:
            found.append(windows.fact("received", at=state.submitted_at, **where))
        for event in outcome.sla_events:
            if event.kind == "fulfilled" and event.metric in ("first_response", "resolution"):
                kind = "responded" if event.metric == "first_response" else "resolved"
                found.append(windows.fact(kind, at=event.at, within_target=event.within_target,
                                          elapsed=event.elapsed, **where))  # fmt: skip
            elif event.kind == "breached":
                found.append(windows.fact("breached", at=event.at, metric=event.metric, **where))
        key = where["department"].encode()
        for document in found:
            yield Output(self.facts_topic, key, orjson.dumps(document))

    def _emit(self, state: TicketState, outcome: Outcome, classified: ClassifiedRequest | None,
              now: float, *, from_timer: bool = False) -> Iterator[Output]:  # fmt: skip
        key = state.ticket_id.encode()
        reasons = outcome.routing.reasons if outcome.routing else []
        labels = (state.department or "unknown", state.channel or "unknown", state.urgency or "unknown")
        if outcome.opened:
            metrics.REQUESTS.labels(state.channel, state.type, state.department).inc()
        yield from self._facts(state, outcome)
        for copy in outcome.routed:
            event = events.routed_ticket(state, copy, classified, now=now, reasons=reasons)
            metrics.ROUTED.labels(copy.department, copy.role).inc()
            yield Output(self.catalog.department(copy.department), key, orjson.dumps(event), CLOUDEVENT_HEADERS)
        for sla_event in outcome.sla_events:
            metrics.SLA_EVENTS.labels(sla_event.kind, sla_event.metric).inc()
            if sla_event.kind == "warning":
                metrics.SLA_WARNINGS.labels(sla_event.metric, *labels).inc()
            elif sla_event.kind == "breached":
                metrics.SLA_BREACHES.labels(sla_event.metric, *labels).inc()
            elif sla_event.kind == "fulfilled":
                metrics.SLA_FULFILLED.labels(sla_event.metric, str(bool(sla_event.within_target)).lower(), *labels).inc()
                histogram = _DURATION_HISTOGRAMS.get(sla_event.metric)
                if histogram is not None:
                    histogram.labels(*labels).observe(sla_event.elapsed or 0.0)
            elif sla_event.kind == "escalated":
                metrics.SLA_ESCALATIONS.labels(sla_event.metric, str(sla_event.level), labels[0]).inc()
            notify = ()
            if sla_event.kind in ("warning", "breached", "escalated"):
                if from_timer:  # points an action or an import made fire are late by design
                    metrics.SLA_EVENT_LATENESS.labels(sla_event.kind).observe(max(0.0, now - sla_event.at))
                if sla_event.kind == "escalated":
                    notify = self.policies.notify(state.policy, sla_event.metric, sla_event.level)
            document = events.sla_event(state, sla_event, notify=notify)
            yield Output(self.catalog.sla_events, key, orjson.dumps(document), CLOUDEVENT_HEADERS)
        for forwarded in outcome.forwarded:
            log.info("ticket %s: customer reply %s continues ticket %s", state.ticket_id, forwarded.action_id,
                     forwarded.ticket_id)  # fmt: skip
            yield Output(self.catalog.tickets_actions, forwarded.ticket_id.encode(),
                         forwarded.model_dump_json().encode())  # fmt: skip
        for promotion in outcome.promotions:
            assert promotion.action.unmatched is not None
            sender, envelope = replies.promoted_request(promotion.action.unmatched, promotion.origin())
            metrics.ORPHAN_REPLIES_PROMOTED.labels(promotion.channel, promotion.reason).inc()
            log.info("ticket %s: customer reply %s becomes request %s (%s)", state.ticket_id,
                     promotion.action.action_id, envelope.request_id, promotion.reason)  # fmt: skip
            yield Output(self.catalog.raw(envelope.channel), sender.encode(), envelope.model_dump_json().encode())


class WindowStore(Protocol):
    """The SLA windows table, as the windows stage sees it (JSON-able aggregates by window key)."""

    def get(self, key: str) -> dict | None: ...

    def put(self, partition: int, key: str, aggregate: dict, *, changelog: bool = True) -> None: ...

    def delete(self, partition: int, key: str) -> None: ...

    def keys(self) -> list[str]: ...


_APPLIED = "__applied__|"


def _applied_key(partition: int) -> str:
    return f"{_APPLIED}{partition}"


class SlaWindowsStage:
    """SLA facts → hour and day windows per department × channel × priority; closed windows
    are emitted once to `sla.windows` (again, as a new revision, if late facts change them),
    and dropped after their retention."""

    def __init__(
        self,
        catalog: TopicCatalog,
        *,
        store: WindowStore,
        zone: str,
        grace_seconds: float,
        retention_seconds: dict[str, float],
        partition_of: Callable[[str], int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        from zoneinfo import ZoneInfo

        self.catalog = catalog
        self.store = store
        self.zone = ZoneInfo(zone)
        self.grace = grace_seconds
        self.retention = retention_seconds
        self.partition_of = partition_of
        self.clock = clock

    def on_facts(self, facts: list[tuple[int, int, bytes]], *, deferred: list[tuple[int, str]] | None = None) -> None:
        """Count a batch of (partition, offset, fact); each touched window is written once.

        The last offset counted per partition is stored with the windows (in the same
        changelog partition, after them), so facts read again after a crash or a rebalance
        are recognised and not counted twice. With `deferred`, the writes are kept in memory
        and listed there for the caller to send to the changelog (in order, after the
        closing events still waiting for acknowledgement: streams/state/pending_writes.py)."""
        touched: dict[str, tuple[int, dict]] = {}
        applied: dict[int, int] = {}
        for partition, offset, raw in facts:
            if partition not in applied:
                marker = self.store.get(_applied_key(partition))
                applied[partition] = marker["offset"] if marker else -1
            if offset <= applied[partition]:
                continue  # counted before the restart
            applied[partition] = offset
            try:
                document = orjson.loads(raw)
                keys = windows.window_keys(document, self.zone)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("sla windows: unreadable fact skipped: %r", raw[:200])
                metrics.STAGE_ERRORS.labels("windows").inc()
                continue
            try:
                for key in keys:
                    encoded = key.encode()
                    entry = touched.get(encoded)
                    if entry is None:
                        entry = touched[encoded] = (partition, self.store.get(encoded) or windows.empty())
                    windows.add(entry[1], document)
            except (KeyError, TypeError, ValueError):
                log.warning("sla windows: fact not counted: %r", raw[:200])
                metrics.STAGE_ERRORS.labels("windows").inc()
        for encoded, (partition, aggregate) in touched.items():
            self._put(partition, encoded, aggregate, deferred)
        for partition, offset in applied.items():
            self._put(partition, _applied_key(partition), {"offset": offset}, deferred)

    def _put(self, partition: int, key: str, value: dict, deferred: list[tuple[int, str]] | None) -> None:
        self.store.put(partition, key, value, changelog=deferred is None)
        if deferred is not None:
            deferred.append((partition, key))

    def close_due(self, owned: set[int], *, deferred: list[tuple[int, str]] | None = None) -> list[Output]:
        """Emit windows that ended more than the grace period ago and changed since last emitted;
        drop windows past their retention. With `deferred`, that a window was emitted is kept
        in memory and listed there, to be recorded once its event is acknowledged."""
        now = self.clock()
        outputs = []
        for encoded in self.store.keys():
            if encoded.startswith(_APPLIED):
                continue
            key = windows.WindowKey.decode(encoded)
            partition = self.partition_of(key.department)
            if partition not in owned:
                continue
            end = key.end(self.zone)
            if now > end + self.retention[key.size]:
                self.store.delete(partition, encoded)
                continue
            aggregate = self.store.get(encoded)
            if aggregate is None or now < end + self.grace or aggregate["revision"] <= aggregate["emitted_revision"]:
                continue
            summary = windows.summary(key, aggregate, self.zone)
            summary["start"], summary["end"] = events.iso(summary["start"]), events.iso(summary["end"])
            event = events.cloudevent(
                event_id=ids.event_id("window", encoded, aggregate["revision"]),
                source="/ticketflow/sla-windows",
                event_type="sla.window.closed",
                time=end,
                subject=key.department,
                data=summary,
            )
            outputs.append(Output(self.catalog.sla_windows, key.department.encode(), orjson.dumps(event), CLOUDEVENT_HEADERS))
            aggregate["emitted_revision"] = aggregate["revision"]
            self._put(partition, encoded, aggregate, deferred)
        return outputs

    def current(self, department: str, size: str | None = None) -> list[dict]:
        """Retained windows of one department (open and closed), newest first."""
        now = self.clock()
        found = []
        for encoded in self.store.keys():
            if encoded.startswith(_APPLIED):
                continue
            key = windows.WindowKey.decode(encoded)
            if key.department != department or (size is not None and key.size != size):
                continue
            aggregate = self.store.get(encoded)
            if aggregate is None:
                continue
            summary = windows.summary(key, aggregate, self.zone)
            summary["closed"] = now >= summary["end"]
            summary["start"], summary["end"] = events.iso(summary["start"]), events.iso(summary["end"])
            found.append(summary)
        return sorted(found, key=lambda item: (item["start"], item["size"], item["channel"], item["priority"]), reverse=True)
