"""lifecycle: tickets and their SLA clocks (requests.classified + tickets.actions → dept.*, sla.events)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator

from pydantic import ValidationError

from streams import metrics
from streams.adapters.normalize import Rejection, describe_validation_error
from streams.board.floor import FloorTracker
from streams.catalog import TopicCatalog
from streams.domain import tickets
from streams.domain.policies import PolicyFile
from streams.domain.routing import RoutingConfig
from streams.domain.tickets import Outcome, Retention
from streams.models import ClassifiedRequest, TicketAction
from streams.records import Output, Source
from streams.stages.common import guard, invalid_output
from streams.stages.lifecycle_outputs import step_outputs
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.state.stores import TicketStore

log = logging.getLogger(__name__)


class LifecycleStage:
    """Tickets and their SLA clocks: requests.classified + tickets.actions → dept.* and sla.events.

    Routing happens here, where the ticket is created, so a repeated request (same ticket id)
    is recognised against the table and never routed twice.

    A customer's reply whose ticket is not found becomes a request of its own: after the hold
    (`reply_hold_seconds` for e-mail, `chat_reply_hold_seconds` for web chat; the timer) or at
    once when the ticket is closed, it is published to raw.<channel> — the intake — and goes
    through normalize and classify like any request (see streams/adapters/email.py for why it
    is decided here and not at the edge). A web chat follow-up whose conversation has no ticket
    opens the conversation's own ticket that way (docs/tickets.md).
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
        floor: FloorTracker | None = None,
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
        self.retention = Retention(
            retention_seconds, orphan_retention_seconds, reply_hold_seconds, chat_reply_hold_seconds
        )
        self.routing = routing
        self.policies = policies
        self.store = store
        self.index = index
        self.open_tickets = open_tickets
        self.floor = FloorTracker() if floor is None else floor  # the live board (docs/board.md)
        self.max_awaiting = max_awaiting
        self.clock = clock

    # -- inputs -----------------------------------------------------------------------------

    def on_classified(
        self, raw: bytes, partition: int, source: Source | None = None, *, deferred: list[tuple[int, str]] | None = None
    ) -> list[Output]:
        """A classified request. With `deferred`, the new ticket state is kept in memory and
        listed there instead of written to the changelog: the caller writes it once the
        outputs are acknowledged (streams/state/pending_writes.py)."""
        return guard(
            "lifecycle",
            self.catalog,
            "unknown",
            raw,
            source,
            self.catalog.requests_classified,
            lambda: self._on_classified(raw, partition, source, deferred),
        )

    def on_action(
        self, raw: bytes, partition: int, source: Source | None = None, *, deferred: list[tuple[int, str]] | None = None
    ) -> list[Output]:
        """An action on a ticket; `deferred` as for `on_classified`."""
        return guard(
            "lifecycle",
            self.catalog,
            "unknown",
            raw,
            source,
            self.catalog.tickets_actions,
            lambda: self._on_action(raw, partition, source, deferred),
        )

    def _on_classified(
        self, raw: bytes, partition: int, source: Source | None, deferred: list[tuple[int, str]] | None = None
    ) -> list[Output]:
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

    def _on_action(
        self, raw: bytes, partition: int, source: Source | None, deferred: list[tuple[int, str]] | None = None
    ) -> list[Output]:
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
            return [self._refuse_action(action, rejection, raw, source, replay_topic=self.catalog.tickets_actions)]
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
            return [self._refuse_action(action, rejection, raw, source, replay_topic=self.catalog.tickets_actions)]
        was_open = OpenTickets.key(before)  # before apply_action changes the state in place
        outcome = tickets.apply_action(before, action, policies=self.policies, now=now)
        if outcome.duplicate:
            metrics.DUPLICATES.labels("action").inc()
            return []
        if outcome.rejection is not None:
            rejection = Rejection(outcome.rejection_code, outcome.rejection)
            return [self._refuse_action(action, rejection, raw, source, replay_topic=None)]
        metrics.ACTIONS.labels(action.type).inc()
        return self._commit(partition, was_open, outcome, None, now, deferred=deferred)

    def fire_due(
        self,
        partition: int,
        now: float,
        limit: int = 2000,
        *,
        upto: float | None = None,
        deferred: list[tuple[int, str]] | None = None,
    ) -> list[Output]:
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
                    outputs.extend(
                        self._commit(
                            partition, OpenTickets.key(state), outcome, None, now, deferred=deferred, from_timer=True
                        )
                    )
                    continue
                expires = state.expires_at(self.retention)
                if expires is not None and expires <= upto and state.next_due() is None:
                    self.store.delete(partition, ticket_id)
                    self.open_tickets.update(partition, OpenTickets.key(state), None)  # an id awaiting its request
                    self.floor.update(partition, ticket_id, None)
                    metrics.TICKETS_EXPIRED.labels(state.status).inc()
                    continue
                self.index.schedule(partition, ticket_id, state.wake_at(self.retention))
            except Exception:  # noqa: BLE001 - one unreadable ticket must not stop every clock
                log.exception("SLA timer: ticket %s skipped", ticket_id)
                metrics.STAGE_ERRORS.labels("timer").inc()
        return outputs

    # -- ownership ---------------------------------------------------------------------------

    def rebuild_in_steps(
        self, partitions: set[int], partition_of: Callable[[str], int], step: int = 10_000
    ) -> Iterator[int]:
        """After a rebalance and table recovery: index and count what the owned partitions hold,
        yielding the number of tickets seen every `step` tickets so a caller can let other work
        run in between (a million tickets take tens of seconds). Partitions
        already indexed are kept as they are; only newly assigned ones are read."""
        indexed = set(self.index.partitions())
        self.index.drop(indexed - partitions)
        self.open_tickets.drop(indexed - partitions)
        self.floor.drop(indexed - partitions)
        new = partitions - indexed
        self.index.assign(new)
        self.open_tickets.assign(new)
        self.floor.assign(new)
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
            self.floor.update(partition, ticket_id, state)
        yield seen

    def revoke(self, partitions: Iterable[int]) -> None:
        partitions = list(partitions)
        self.index.drop(partitions)
        self.open_tickets.drop(partitions)
        self.floor.drop(partitions)

    # -- helpers -----------------------------------------------------------------------------

    def _refuse_action(
        self, action: TicketAction, rejection: Rejection, raw: bytes, source: Source | None, *, replay_topic: str | None
    ) -> Output:
        """An action kept on requests.invalid under its own id (replayable where `replay_topic` is given)."""
        return invalid_output(
            self.catalog,
            stage="lifecycle",
            channel=action.channel or "unknown",
            rejection=rejection,
            raw=raw,
            source=source,
            request_id=action.action_id,
            replay_topic=replay_topic,
        )

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
        return invalid_output(
            self.catalog,
            stage="lifecycle",
            channel="unknown",
            rejection=rejection,
            raw=raw,
            source=source,
            replay_topic=source.topic if source else None,
        )

    def _reject(self, raw: bytes, source: Source | None, exc: ValidationError, what: str, topic: str) -> Output:
        reason, details = describe_validation_error(exc)
        return invalid_output(
            self.catalog,
            stage="lifecycle",
            channel="unknown",
            raw=raw,
            source=source,
            rejection=Rejection("invalid_record", f"{what}: {reason}", details),
            replay_topic=topic,
        )

    def _commit(
        self,
        partition: int,
        was_open: tuple[str, str] | None,
        outcome: Outcome,
        classified: ClassifiedRequest | None,
        now: float,
        *,
        deferred: list[tuple[int, str]] | None = None,
        from_timer: bool = False,
    ) -> list[Output]:
        """Build what the step emits, then record the new state (in memory at once; in the
        changelog now, or — `deferred` — once the caller has the events acknowledged)."""
        state = outcome.state
        assert state is not None
        outputs = list(
            step_outputs(self.catalog, self.policies, self.facts_topic, state, outcome, classified, now, from_timer)
        )
        self.store.put(partition, state, changelog=deferred is None)
        if deferred is not None:
            deferred.append((partition, state.ticket_id))
        self.index.schedule(partition, state.ticket_id, state.wake_at(self.retention))
        self.open_tickets.update(partition, was_open, OpenTickets.key(state))
        self.floor.update(partition, state.ticket_id, state)
        return outputs
