"""care: the customer side (customers.profiles + contact-requests → followups, care,
contact-returns), keyed by customer id (docs/followups.md).

One record per customer (`CareRecord`): the CRM profile, the contact log shared by surveys,
callbacks, second follow-ups and care, and the care messages held for later.

- `on_profile`: keep the profile and move the customer in the day-bucketed `CareCalendar`.
- `on_request`: a follow-up the ticket side found due: checked against the contact log
  (suppression, the gap, quiet hours): `followup.*_due` on `followups` (keyed by ticket),
  `followup.cancelled`, or held: sent back on contact-returns (keyed by ticket) with its new
  moment, so the ticket is checked again then. A copy of one already sent is dropped.
- `run_days` (the care timer): each day's occasions at `send_at`, and every day missed since
  (after a restart); `fire_held`: care messages held by quiet hours or the gap.

The calendar holds only the customers of the partitions this worker owns; an occasion key is
recorded (sent or suppressed) with the contact log, once its event is acknowledged.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta

import orjson
from pydantic import ValidationError

from streams import metrics
from streams.catalog import TopicCatalog
from streams.domain import followups as fu
from streams.models import CustomerProfile
from streams.records import Output
from streams.stages.followup_records import CareRecord, ContactRequest, ContactReturn, HeldCare, contact_key
from streams.state.deadlines import DeadlineIndex
from streams.state.stores import RecordStore

log = logging.getLogger(__name__)
Deferred = list[tuple[int, str]]
_HEADERS = (("content-type", b"application/cloudevents+json; charset=utf-8"),)
# A day's care messages are decided this long before `send_at` and sent at it (docs/followups.md).
PREPARE_AHEAD_SECONDS = 60.0


class CareStage:
    def __init__(
        self,
        catalog: TopicCatalog,
        *,
        followup_file: fu.FollowupFile,
        care_file: fu.CareFile,
        store: RecordStore,
        returns_topic: str,
        key_partition: Callable[[str], int],
        prepare_ahead: float = PREPARE_AHEAD_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog = catalog
        self.followup_file = followup_file
        self.care = care_file
        self.store = store
        self.returns_topic = returns_topic
        self.key_partition = key_partition
        self.clock = clock
        self.prepare_ahead = prepare_ahead
        self.calendars: dict[int, fu.CareCalendar] = {}  # owned partitions only
        self.days_done: dict[int, date] = {}  # the last day run, per owned partition
        self.held = DeadlineIndex()
        self.min_gap = care_file.contact_budget.min_gap.resolve(86400.0)
        self.catch_up_days = max(1, math.ceil(care_file.late_within.resolve(86400.0) / 86400.0))

    def _keep(self, partition: int, customer_id: str, record: CareRecord, deferred: Deferred | None) -> None:
        self.store.put_value(partition, customer_id, record, changelog=deferred is None)
        if deferred is not None:
            deferred.append((partition, customer_id))
        self.held.schedule(partition, customer_id, record.wake_at())

    # -- profiles ----------------------------------------------------------------------------

    def on_profile(self, raw: bytes, *, deferred: Deferred | None = None) -> list[Output]:
        """A profile: kept under the customer's own partition; when today's run is already done,
        the customer's occasions of today are looked at now."""
        try:
            profile = CustomerProfile.model_validate_json(raw)
        except ValidationError:
            return []  # the identity agent reports unreadable profiles
        home, now = self.key_partition(profile.customer_id), self.clock()
        record = self.store.get(profile.customer_id) or CareRecord()
        today = fu.today_in(self.care, now)
        calendar = self.calendars.get(home)
        if calendar is not None:
            old = fu.marks_of(record.profile, self.care, today) if record.profile is not None else None
            calendar.move(profile.customer_id, old, fu.marks_of(profile, self.care, today))
        record.profile = profile
        outputs: list[Output] = []
        if calendar is not None and self.days_done.get(home) == today:
            for due in fu.occasions_on(profile, today, self.care):
                if record.contacts.has_occasion(due.key):
                    continue
                if due.due_at <= now:
                    self._decide(home, profile.customer_id, record, due, now, outputs)
                else:  # today's run was prepared ahead of send_at without this customer
                    record.held = [*[h for h in record.held if h.key != due.key], HeldCare.of(due, due.due_at)]
        self._keep(home, profile.customer_id, record, deferred)
        return outputs

    # -- follow-ups from the ticket side -------------------------------------------------------

    def on_request(self, raw: bytes, partition: int, *, deferred: Deferred | None = None) -> list[Output]:
        try:
            request = ContactRequest.model_validate_json(raw)
        except ValidationError:
            log.exception("care: unreadable contact request skipped")
            metrics.STAGE_ERRORS.labels("care").inc()
            return []
        followup, now = request.followup, self.clock()
        record = self.store.get(followup.customer_id) or CareRecord()
        key = contact_key(followup)
        if record.contacts.has_contact(key):
            return []  # a repeated hand-over of a follow-up already sent
        profile = record.profile
        if followup.via == "preferred" and profile is not None and profile.preferred_channel is not None:
            followup = followup.model_copy(update={"channel": profile.preferred_channel})
        decision = fu.check_at_fire(
            followup, request.facts.facts(), record.contacts, self.followup_file, min_gap_seconds=self.min_gap, now=now
        )
        ticket_key = followup.ticket_id.encode()
        if decision.verdict == "hold":
            metrics.FOLLOWUPS_HELD.labels(decision.reason or "").inc()
            back = ContactReturn(followup=fu.held(followup, decision))
            return [Output(self.returns_topic, ticket_key, back.model_dump_json().encode())]
        if decision.verdict == "cancel":
            metrics.FOLLOWUPS_CANCELLED.labels(followup.kind, decision.reason or "").inc()
            event = fu.followup_cancelled(followup, reason=decision.reason or "", detail=decision.detail, now=now)
            return [Output(self.catalog.followups, ticket_key, orjson.dumps(event), _HEADERS)]
        metrics.FOLLOWUPS_SENT.labels(
            followup.kind, request.type or "unknown", followup.channel, request.department or "unknown"
        ).inc()
        metrics.FOLLOWUP_LATENESS.labels(followup.kind).observe(max(0.0, now - followup.fire_at))
        event = fu.followup_due(followup, now=now, late=decision.late)
        record.contacts = fu.record_contact(record.contacts, at=now, kind=followup.kind, key=key)
        self._keep(partition, followup.customer_id, record, deferred)
        return [Output(self.catalog.followups, ticket_key, orjson.dumps(event), _HEADERS)]

    # -- care messages -------------------------------------------------------------------------

    def _decide(
        self, partition: int, customer_id: str, record: CareRecord, due: fu.CareDue, now: float, outputs: list[Output]
    ) -> None:
        """One care message at its moment: sent, held (kept in the record) or suppressed."""
        record.held = [held for held in record.held if held.key != due.key]
        decision = fu.check_care(due, record.profile, record.contacts, self.care, now=now)
        key = customer_id.encode()
        if decision.verdict == "fire":
            metrics.CARE_SENT.labels(due.occasion, due.tier).inc()
            metrics.CARE_LATENESS.observe(max(0.0, now - due.due_at))
            event = fu.care_due(due, now=now, late=decision.late)
            record.contacts = fu.record_contact(record.contacts, at=now, kind="care", key=due.key)
            outputs.append(Output(self.catalog.care, key, orjson.dumps(event), _HEADERS))
        elif decision.verdict == "hold":
            record.held = [*record.held, HeldCare.of(due, decision.at)]
        elif decision.reason != "already_sent":
            metrics.CARE_SUPPRESSED.labels(due.occasion, decision.reason or "").inc()
            event = fu.care_suppressed(due, reason=decision.reason or "", detail=decision.detail, now=now)
            record.contacts = fu.record_occasion_skipped(record.contacts, at=now, key=due.key)
            outputs.append(Output(self.catalog.care, key, orjson.dumps(event), _HEADERS))

    def run_day(self, partition: int, day: date, now: float, deferred: Deferred | None = None) -> list[Output]:
        """The care messages of one day for one owned partition."""
        return [o for outputs in self.run_day_in_chunks(partition, day, lambda: now, deferred) for o in outputs]

    def run_day_in_chunks(
        self, partition: int, day: date, clock: Callable[[], float], deferred: Deferred | None = None, chunk: int = 200
    ) -> Iterator[list[Output]]:
        """One day's messages, `chunk` customers at a time, so the first go out while the rest are decided."""
        calendar = self.calendars.get(partition)
        if calendar is None:
            return
        customers = sorted(calendar.sending_on(day, self.care))
        for start in range(0, len(customers), chunk):
            outputs: list[Output] = []
            now = clock()
            for customer_id in customers[start : start + chunk]:
                try:
                    self._run_customer(partition, customer_id, day, now, outputs, deferred)
                except Exception:  # noqa: BLE001 - one unreadable customer must not stop the day
                    log.exception("care: customer %s skipped on %s", customer_id, day)
                    metrics.STAGE_ERRORS.labels("care").inc()
            yield outputs

    def _run_customer(
        self, partition: int, customer_id: str, day: date, now: float, outputs: list[Output], deferred: Deferred | None
    ) -> None:
        record = self.store.get(customer_id)
        if record is None or record.profile is None:
            return
        dues = [d for d in fu.occasions_on(record.profile, day, self.care) if not record.contacts.has_occasion(d.key)]
        if not dues:
            return
        for due in dues:
            self._decide(partition, customer_id, record, due, now, outputs)
        self._keep(partition, customer_id, record, deferred)

    def days_due(self, partition: int, now: float) -> list[date]:
        """The days whose `send_at` has come and that were not run yet (every missed one after a restart)."""
        today = fu.today_in(self.care, now)
        last = self.days_done.get(partition, today - timedelta(days=self.catch_up_days + 1))
        days = []
        day = last + timedelta(days=1)
        while day <= today:
            if self.care.send_moment(day) > now:
                break
            days.append(day)
            day += timedelta(days=1)
        return days

    def run_days(self, now: float, deferred: Deferred | None = None) -> list[Output]:
        """The care timer's step at `now`: every owned partition's days due, then the held messages due."""
        found: list[Output] = []
        for outputs, written, _release in self.steps(lambda: now, ahead=0.0):
            found.extend(outputs)
            if deferred is not None:
                deferred.extend(written)
        return found

    def steps(
        self, clock: Callable[[], float], ahead: float | None = None
    ) -> Iterator[tuple[list[Output], Deferred, float]]:
        """The care timer's step in chunks: (outputs, the customers to record once they are
        acknowledged, the moment to send them). A day is decided up to `ahead` seconds before its
        `send_at`, as of `send_at` (its contacts are recorded at that moment, so the budget holds
        for anything else in between); the caller sends it at `send_at`."""
        ahead = self.prepare_ahead if ahead is None else ahead
        for partition in list(self.calendars):
            for day in self.days_due(partition, clock() + ahead):
                moment = self.care.send_moment(day)
                written: Deferred = []
                for outputs in self.run_day_in_chunks(
                    partition, day, lambda moment=moment: max(clock(), moment), written
                ):
                    yield outputs, written, moment
                    written = []
                self.days_done[partition] = day
                if partition in self.calendars:
                    self.calendars[partition].prune(day - timedelta(days=16))
            written = []
            now = clock()
            outputs = self.fire_held(partition, now, written)
            yield outputs, written, now

    def fire_held(
        self, partition: int, now: float, deferred: Deferred | None = None, limit: int = 2000
    ) -> list[Output]:
        outputs: list[Output] = []
        for customer_id in self.held.pop_due(partition, now, limit):
            record = self.store.get(customer_id)
            if record is None:
                continue
            for held in [h for h in record.held if h.fire_at <= now]:
                self._decide(partition, customer_id, record, held.due(customer_id), now, outputs)
            self._keep(partition, customer_id, record, deferred)
        return outputs

    def next_due(self, now: float) -> float | None:
        """When the timer should look again: a day to prepare, or a held message."""
        ahead = self.prepare_ahead
        moments = [self.care.send_moment(fu.today_in(self.care, now) + timedelta(days=1)) - ahead]
        if (held := self.held.next_due()) is not None:
            moments.append(held)
        for partition in self.calendars:
            if self.days_due(partition, now + ahead):
                return now
        return min(moments)

    # -- ownership ---------------------------------------------------------------------------

    def rebuild(self, partitions: set[int], now: float) -> int:
        """The calendars and held messages of newly owned partitions, from the recovered table."""
        self.revoke(set(self.calendars) - partitions)
        new = partitions - set(self.calendars)
        for partition in new:
            self.calendars[partition] = fu.CareCalendar()
        self.held.assign(new)
        today = fu.today_in(self.care, now)
        placed = 0
        for customer_id in self.store.keys():  # noqa: SIM118 - a snapshot of the table's keys
            partition = self.key_partition(customer_id)
            if partition not in new:
                continue
            record = self.store.get(customer_id)
            if record is None:
                continue
            if record.profile is not None:
                self.calendars[partition].place(customer_id, fu.marks_of(record.profile, self.care, today))
                placed += 1
            self.held.schedule(partition, customer_id, record.wake_at())
        return placed

    def revoke(self, partitions: Iterable[int]) -> None:
        partitions = list(partitions)
        for partition in partitions:
            self.calendars.pop(partition, None)
            self.days_done.pop(partition, None)
        self.held.drop(partitions)
