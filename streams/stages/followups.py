"""followups: the ticket side of follow-ups (tickets + feedback → followups, tickets.actions,
contact-requests), keyed by ticket id and co-partitioned with the tickets (docs/followups.md).

- `on_tickets`: after a lifecycle step, a ticket resolved (or closed after a reply) gets its
  survey planned once per resolution cycle (`plan_survey`).
- `on_feedback`: an answer on `feedback` is recorded (`receive_feedback`); a dissatisfied one
  reopens the ticket (tickets.actions), escalates it (`followup.escalated`) and schedules the
  second follow-up; a better one cancels it.
- `fire_due`: the timer; a follow-up due is checked against the ticket now (cancelled, held for
  quiet hours, or handed to the customer's partition on contact-requests, keyed by customer id,
  where the contact budget decides). `on_return`: a follow-up that budget held comes back here
  and is checked again at its new moment.

Writes are deferred like the lifecycle's: a follow-up leaves the table only once what it
produced is acknowledged, so a crash repeats a hand-over (the customer side drops the copy)
and never loses one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import orjson
from pydantic import ValidationError

from streams import metrics
from streams.adapters.normalize import Rejection, describe_validation_error
from streams.catalog import TopicCatalog
from streams.domain import followups as fu
from streams.domain.classification import Classifier
from streams.domain.policies import PolicyFile
from streams.domain.tickets import TicketState
from streams.models import Feedback
from streams.records import Output, Source
from streams.stages.common import CLOUDEVENT_HEADERS, guard, invalid_output
from streams.stages.followup_records import ContactRequest, ContactReturn, FactsSnapshot, FollowupRecord
from streams.state.deadlines import DeadlineIndex
from streams.state.stores import RecordStore, TicketStore

log = logging.getLogger(__name__)
Deferred = list[tuple[int, str]]


# Wording that says the matter is still not settled, whatever the score (docs/followups.md).
UNRESOLVED_CUES = (
    "还是没",
    "没修好",
    "没解决",
    "未解决",
    "没有解决",
    "还没好",
    "没好",
    "依旧",
    "依然",
    "仍然",
    "问题还在",
    "还是不行",
    "还是坏",
    "又坏",
    "不满意",
    "没用",
    "白等",
    "still not",
    "still broken",
    "still doesn't",
    "still does not",
    "not fixed",
    "not resolved",
    "unresolved",
    "not solved",
    "didn't help",
    "did not help",
    "doesn't work",
    "does not work",
    "not satisfied",
    "dissatisfied",
    "unhappy",
)


def comment_judge(classifier: Classifier) -> fu.feedback.CommentJudge:
    """Dissatisfied: the classifier reads the comment as negative or angry, or it says the matter is unresolved."""

    def judge(comment: str) -> bool:
        lowered = comment.lower()
        if any(cue in lowered for cue in UNRESOLVED_CUES):
            return True
        found = classifier.classify(comment)
        return found.sentiment == "negative" or found.angry

    return judge


def _labels(ticket: TicketState | None) -> tuple[str, str, str]:
    if ticket is None:
        return ("unknown", "unknown", "unknown")
    return (ticket.type or "unknown", ticket.channel or "unknown", ticket.department or "unknown")


def _nps_group(nps: int) -> str:
    return "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"


class FollowupStage:
    def __init__(
        self,
        catalog: TopicCatalog,
        *,
        file: fu.FollowupFile,
        policies: PolicyFile,
        tickets: TicketStore,
        store: RecordStore,
        index: DeadlineIndex,
        requests_topic: str,
        judge: fu.feedback.CommentJudge | None = None,
        key_partition: Callable[[str], int] | None = None,
        retention_seconds: float = 30 * 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog = catalog
        self.file = file
        self.policies = policies
        self.tickets = tickets
        self.store = store
        self.index = index
        self.requests_topic = requests_topic
        self.judge = judge
        self.key_partition = key_partition
        self.clock = clock
        self.retention = retention_seconds

    # -- state -------------------------------------------------------------------------------

    def record(self, ticket_id: str) -> FollowupRecord | None:
        return self.store.get(ticket_id)

    def _keep(self, partition: int, ticket_id: str, record: FollowupRecord, deferred: Deferred | None) -> None:
        record.updated_at = self.clock()
        self.store.put_value(partition, ticket_id, record, changelog=deferred is None)
        if deferred is not None:
            deferred.append((partition, ticket_id))
        self.index.schedule(partition, ticket_id, record.wake_at(self.retention))

    # -- tickets -----------------------------------------------------------------------------

    def on_tickets(self, changed: Iterable[tuple[int, str]], deferred: Deferred | None = None) -> list[Output]:
        """After a lifecycle step: plan the survey of every ticket it resolved or closed."""
        outputs: list[Output] = []
        for partition, ticket_id in dict.fromkeys(changed):
            try:
                outputs.extend(self._plan(partition, ticket_id, deferred))
            except Exception:  # noqa: BLE001 - a follow-up must never stop the ticket's own step
                log.exception("followups: ticket %s not planned", ticket_id)
                metrics.STAGE_ERRORS.labels("followups").inc()
        return outputs

    def _plan(self, partition: int, ticket_id: str, deferred: Deferred | None) -> list[Output]:
        ticket = self.tickets.get(ticket_id)
        if ticket is None or ticket.status not in ("resolved", "closed"):
            return []
        record = self.record(ticket_id) or FollowupRecord()
        if ticket.reopen_count in record.planned_cycles:
            return []
        record.planned_cycles = [*record.planned_cycles, ticket.reopen_count][-fu.feedback.ANSWERS_KEPT :]
        plan = fu.plan_survey(ticket, self.file, language=ticket.language, repeat_of=ticket.repeat_of)
        if isinstance(plan, fu.Skipped):
            metrics.FOLLOWUPS_SKIPPED.labels(plan.reason).inc()
        else:
            metrics.FOLLOWUPS_PLANNED.labels(plan.kind, ticket.type or "unknown").inc()
            record.pending = [f for f in record.pending if f.key != plan.key] + [plan]
        self._keep(partition, ticket_id, record, deferred)
        return []

    # -- feedback ----------------------------------------------------------------------------

    def on_feedback(
        self, raw: bytes, partition: int, source: Source | None = None, *, deferred: Deferred | None = None
    ) -> list[Output]:
        return guard(
            "followups",
            self.catalog,
            "unknown",
            raw,
            source,
            self.catalog.feedback,
            lambda: self._on_feedback(raw, partition, source, deferred),
        )

    def _on_feedback(
        self, raw: bytes, partition: int, source: Source | None, deferred: Deferred | None
    ) -> list[Output]:
        try:
            feedback = Feedback.model_validate_json(raw)
        except ValidationError as exc:
            reason, details = describe_validation_error(exc)
            return [
                invalid_output(
                    self.catalog,
                    stage="followups",
                    channel="unknown",
                    raw=raw,
                    source=source,
                    rejection=Rejection("invalid_feedback", f"not a feedback record: {reason}", details),
                    replay_topic=self.catalog.feedback,
                )
            ]
        if self.key_partition is not None and (home := self.key_partition(feedback.ticket_id)) != partition:
            rejection = Rejection(
                "wrong_partition",
                f"ticket {feedback.ticket_id} belongs to partition {home}, the "
                f"feedback came on partition {partition}: produce keyed by ticket id",
            )
            return [
                invalid_output(
                    self.catalog,
                    stage="followups",
                    channel=feedback.channel or "unknown",
                    raw=raw,
                    source=source,
                    rejection=rejection,
                    replay_topic=self.catalog.feedback,
                )
            ]
        now = self.clock()
        ticket = self.tickets.get(feedback.ticket_id)
        record = self.record(feedback.ticket_id) or FollowupRecord()
        outcome = fu.receive_feedback(record.feedback, feedback, ticket, self.file, judge=self.judge, now=now)
        if outcome.answer is None:
            metrics.FEEDBACK_OTHER.labels("redelivered").inc()
            return []
        record.feedback = outcome.state
        outputs = list(self._feedback_outputs(outcome, feedback, ticket, now))
        self._keep(partition, feedback.ticket_id, record, deferred)
        return outputs

    def _feedback_outputs(
        self, outcome: fu.FeedbackOutcome, feedback: Feedback, ticket: TicketState | None, now: float
    ):  # noqa: ANN202 - an iterator of outputs
        answer = outcome.answer
        assert answer is not None
        labels = _labels(ticket)
        if outcome.unknown_ticket:
            metrics.FEEDBACK_OTHER.labels("unknown_ticket").inc()
            log.warning(
                "feedback %s for ticket %s, not known here: kept, drives nothing",
                feedback.feedback_id,
                feedback.ticket_id,
            )
        elif not answer.counted:
            metrics.FEEDBACK_OTHER.labels("amendment").inc()
        else:
            metrics.FEEDBACK_ANSWERS.labels(*labels, str(not answer.dissatisfied).lower()).inc()
            if answer.csat is not None:
                metrics.FEEDBACK_CSAT.labels(*labels, str(answer.csat)).inc()
            if answer.nps is not None:
                metrics.FEEDBACK_NPS.labels(*labels, _nps_group(answer.nps)).inc()
        if outcome.replaced is not None:
            metrics.FEEDBACK_REPLACED.labels(*labels, str(not outcome.replaced.dissatisfied).lower()).inc()
        key = feedback.ticket_id.encode()
        if outcome.reopen is not None:
            metrics.RECOVERIES.labels(labels[0], labels[2], "reopen").inc()
            yield Output(self.catalog.tickets_actions, key, outcome.reopen.model_dump_json().encode())
        if outcome.escalate and ticket is not None:
            metrics.RECOVERIES.labels(labels[0], labels[2], "escalate").inc()
            event = fu.followup_escalated(
                ticket_id=ticket.ticket_id,
                customer_id=ticket.customer_id,
                feedback_id=feedback.feedback_id,
                policy=ticket.policy,
                notify=fu.recovery_notify(self.policies, ticket),
                reasons=answer.reasons,
                csat=answer.csat,
                nps=answer.nps,
                reopened=outcome.reopen is not None,
                now=now,
            )
            yield Output(self.catalog.followups, key, orjson.dumps(event), CLOUDEVENT_HEADERS)
        if outcome.schedule is not None:
            metrics.FOLLOWUPS_PLANNED.labels("second_followup", labels[0]).inc()
        if outcome.cancel is not None:
            yield self._cancelled(outcome.cancel, "better_answer", "a better answer arrived", now)

    def _cancelled(self, followup: fu.ScheduledFollowup, reason: str, detail: str, now: float) -> Output:
        metrics.FOLLOWUPS_CANCELLED.labels(followup.kind, reason).inc()
        event = fu.followup_cancelled(followup, reason=reason, detail=detail, now=now)
        return Output(self.catalog.followups, followup.ticket_id.encode(), orjson.dumps(event), CLOUDEVENT_HEADERS)

    # -- the customer's budget held it: back here ----------------------------------------------

    def on_return(self, raw: bytes, partition: int, *, deferred: Deferred | None = None) -> list[Output]:
        try:
            followup = ContactReturn.model_validate_json(raw).followup
        except ValidationError:
            log.exception("followups: unreadable contact return skipped")
            metrics.STAGE_ERRORS.labels("followups").inc()
            return []
        record = self.record(followup.ticket_id) or FollowupRecord()
        if followup.kind == "second_followup":
            if record.feedback.second_followup is not None and record.feedback.second_followup.key != followup.key:
                return []  # superseded meanwhile
            record.feedback.second_followup = followup
        else:
            record.pending = [f for f in record.pending if f.key != followup.key] + [followup]
        self._keep(partition, followup.ticket_id, record, deferred)
        return []

    # -- the timer ---------------------------------------------------------------------------

    def fire_due(
        self, partition: int, now: float, limit: int = 2000, *, deferred: Deferred | None = None
    ) -> list[Output]:
        """Every follow-up of the partition due by `now`: cancelled, held, or handed to the customer side."""
        outputs: list[Output] = []
        for ticket_id in self.index.pop_due(partition, now, limit):
            try:
                outputs.extend(self._fire_ticket(partition, ticket_id, now, deferred))
            except Exception:  # noqa: BLE001 - one unreadable record must not stop every follow-up
                log.exception("followups timer: ticket %s skipped", ticket_id)
                metrics.STAGE_ERRORS.labels("timer").inc()
        return outputs

    def _fire_ticket(self, partition: int, ticket_id: str, now: float, deferred: Deferred | None) -> list[Output]:
        record = self.record(ticket_id)
        if record is None:
            return []
        ticket = self.tickets.get(ticket_id)
        if not any(followup.fire_at <= now for followup in record.waiting()):
            return self._retire(partition, ticket_id, record, ticket is None, now)
        facts = fu.fire_facts(ticket, record.feedback)
        outputs: list[Output] = []
        kept: list[fu.ScheduledFollowup] = []
        for followup in record.waiting():
            if followup.fire_at > now:
                kept.append(followup)
                continue
            # The ticket's part of the check; the customer's partition checks the budget again.
            decision = fu.check_at_fire(followup, facts, None, self.file, min_gap_seconds=0.0, now=now)
            if decision.verdict == "cancel":
                outputs.append(self._cancelled(followup, decision.reason or "", decision.detail, now))
            elif decision.verdict == "hold":
                metrics.FOLLOWUPS_HELD.labels(decision.reason or "").inc()
                kept.append(fu.held(followup, decision))
            else:
                snapshot = FactsSnapshot.of(facts) if facts else FactsSnapshot(status="gone", cycle=-1)
                request = ContactRequest(
                    followup=followup,
                    facts=snapshot,
                    department=ticket.department if ticket else None,
                    type=ticket.type if ticket else None,
                )
                outputs.append(
                    Output(self.requests_topic, followup.customer_id.encode(), request.model_dump_json().encode())
                )
        record.pending = [f for f in kept if f.kind != "second_followup"]
        second = next((f for f in kept if f.kind == "second_followup"), None)
        record.feedback = record.feedback.model_copy(update={"second_followup": second})
        self._keep(partition, ticket_id, record, deferred)
        return outputs

    def _retire(
        self, partition: int, ticket_id: str, record: FollowupRecord, ticket_gone: bool, now: float
    ) -> list[Output]:
        """Nothing due: once retention has run out and the ticket is retired too, the record goes
        (a tombstone); otherwise look again later."""
        wake = record.wake_at(self.retention)
        if wake is not None and wake <= now:
            if ticket_gone and not record.waiting():
                self.store.delete(partition, ticket_id)
                self.index.schedule(partition, ticket_id, None)
                return []
            wake = now + self.retention  # the ticket is still kept: so are its answers
        self.index.schedule(partition, ticket_id, wake)
        return []

    # -- ownership ---------------------------------------------------------------------------

    def rebuild(self, partitions: set[int], partition_of: Callable[[str], int]) -> int:
        """Index the follow-ups of newly owned partitions (after a rebalance and table recovery)."""
        indexed = set(self.index.partitions())
        self.index.drop(indexed - partitions)
        new = partitions - indexed
        self.index.assign(new)
        count = 0
        for ticket_id in self.store.keys():  # noqa: SIM118 - a snapshot of the table's keys
            partition = partition_of(ticket_id)
            if partition not in new:
                continue
            record = self.record(ticket_id)
            if record is not None and (wake := record.wake_at(self.retention)) is not None:
                self.index.schedule(partition, ticket_id, wake)
                count += 1
        return count

    def revoke(self, partitions: Iterable[int]) -> None:
        self.index.drop(list(partitions))
