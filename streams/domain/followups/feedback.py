"""Answers to surveys: who is dissatisfied, rating changes, and the recovery of a bad rating.

- Dissatisfied (`Dissatisfied` in the follow-up file): CSAT at most `csat_at_most`, NPS at most
  `nps_at_most` when set, an explicit `satisfied: false`, or a comment the classifier judges
  unresolved or negative ("还是没修好"), whatever the score. The judgement is a callable
  passed in, so the domain needs no classifier.
- Rating changes: the answers of one ticket's resolution cycle are kept in order. A second
  answer within `rating_change_window` of the first *replaces* it (the customer corrected a
  slip: the KPIs count the later one only); a later answer *amends* it (the KPIs keep the first,
  what the survey measured; the later one is kept and reported). Either way the latest answer
  drives recovery.
- Recovery: the first dissatisfied answer of a cycle reopens the ticket (when it is resolved
  or closed), escalates it and schedules the second follow-up `second_followup_after` later. A
  better answer before it is due cancels it; a dissatisfied answer after such a cancellation
  schedules a new one (the ticket is reopened only if it was resolved again meanwhile).
- Feedback for a ticket not in the tickets table is kept and reported (`unknown_ticket`),
  never dropped, and drives nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from streams import ids
from streams.domain.followups.files import Dissatisfied, FollowupFile
from streams.domain.followups.surveys import (
    ScheduledFollowup,
    TicketFacts,
    channel_for,
    customer_zone,
    hold_for_quiet_hours,
)
from streams.domain.policies import PolicyFile
from streams.domain.tickets import TicketState
from streams.models import CustomerProfile, Feedback, FeedbackSubmission, TicketAction

# True when a comment says the matter is unresolved or the customer is unhappy (the classifier's verdict).
CommentJudge = Callable[[str], bool]
RatingChange = Literal["first", "replaces", "amends"]
ANSWERS_KEPT = 20
RECOVERY_BY = "ticketflow-followups"
SECOND_FOLLOWUP = "second-followup"


def feedback_id(submission: FeedbackSubmission, *, received_at: float) -> str:
    """Deterministic: from the client's idempotency key, else from the answer and its moment."""
    if submission.idempotency_key is not None:
        return "FB-" + ids.event_id("feedback", submission.ticket_id, "key", submission.idempotency_key)
    answered = submission.answered_at.timestamp() if submission.answered_at is not None else received_at
    return "FB-" + ids.event_id(
        "feedback",
        submission.ticket_id,
        f"{answered:.3f}",
        submission.csat,
        submission.nps,
        submission.satisfied,
        submission.comment or "",
    )


def dissatisfaction(
    csat: int | None,
    nps: int | None,
    satisfied: bool | None,
    comment: str | None,
    rules: Dissatisfied,
    judge: CommentJudge | None = None,
) -> list[str]:
    """Why the answer counts as dissatisfied (empty: it does not)."""
    reasons = []
    if csat is not None and csat <= rules.csat_at_most:
        reasons.append(f"csat {csat} <= {rules.csat_at_most}")
    if nps is not None and rules.nps_at_most is not None and nps <= rules.nps_at_most:
        reasons.append(f"nps {nps} <= {rules.nps_at_most}")
    if rules.explicit_flag and satisfied is False:
        reasons.append("answered not satisfied")
    if rules.comment_unresolved and judge is not None and comment and comment.strip() and judge(comment):
        reasons.append("the comment says the matter is unresolved or negative")
    return reasons


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    feedback_id: str
    cycle: int
    answered_at: float
    csat: int | None = None
    nps: int | None = None
    dissatisfied: bool
    reasons: tuple[str, ...] = ()
    counted: bool = True  # counted in the KPIs (False once replaced, or for an amendment)


class TicketFeedback(BaseModel):
    """Value of the feedback table (keyed by ticket id)."""

    model_config = ConfigDict(extra="forbid")

    answers: list[Answer] = []
    second_followup: ScheduledFollowup | None = None  # pending, if any
    recovered_cycles: list[int] = []  # cycles whose dissatisfied answer reopened and escalated the ticket

    def rated_cycles(self) -> frozenset[int]:
        return frozenset(answer.cycle for answer in self.answers)

    def latest(self, cycle: int | None = None) -> Answer | None:
        answers = [a for a in self.answers if cycle is None or a.cycle == cycle]
        return answers[-1] if answers else None

    def seen(self, feedback_id: str) -> bool:
        return any(answer.feedback_id == feedback_id for answer in self.answers)


def answer_cycle(ticket: TicketState | None) -> int:
    """The resolution an answer rates: the current one, or the last one if the ticket was reopened since."""
    if ticket is None:
        return 0
    if ticket.status in ("resolved", "closed") or ticket.resolved_at is None:
        return ticket.reopen_count
    return max(0, ticket.reopen_count - 1)


def rating_change(previous: Answer | None, answered_at: float, window_seconds: float) -> RatingChange:
    if previous is None:
        return "first"
    return "replaces" if answered_at - previous.answered_at <= window_seconds else "amends"


@dataclass
class FeedbackOutcome:
    state: TicketFeedback
    answer: Answer | None  # None: a redelivered answer, nothing to do
    change: RatingChange | None = None
    replaced: Answer | None = None  # taken out of the KPIs
    unknown_ticket: bool = False
    reopen: TicketAction | None = None  # to produce on the ticket actions topic
    escalate: bool = False
    schedule: ScheduledFollowup | None = None
    cancel: ScheduledFollowup | None = None  # with reason "better_answer"
    notes: list[str] = field(default_factory=list)


def receive_feedback(
    state: TicketFeedback | None,
    feedback: Feedback,
    ticket: TicketState | None,
    file: FollowupFile,
    *,
    judge: CommentJudge | None = None,
    profile: CustomerProfile | None = None,
    language: str | None = None,
    zone_name: str | None = None,
    now: float,
) -> FeedbackOutcome:
    """Record an answer and decide the recovery it brings (or cancels)."""
    state = state.model_copy(deep=True) if state is not None else TicketFeedback()
    if state.seen(feedback.feedback_id):
        return FeedbackOutcome(state, None, notes=["redelivered answer"])
    answered_at = feedback.answered_at.timestamp() if feedback.answered_at is not None else now
    rules = file.dissatisfied
    reasons = dissatisfaction(feedback.csat, feedback.nps, feedback.satisfied, feedback.comment, rules, judge)
    cycle = answer_cycle(ticket)
    previous = state.latest(cycle)
    change = rating_change(previous, answered_at, file.rating_change_window.resolve(86400.0))
    answer = Answer(
        feedback_id=feedback.feedback_id,
        cycle=cycle,
        answered_at=answered_at,
        csat=feedback.csat,
        nps=feedback.nps,
        dissatisfied=bool(reasons),
        reasons=tuple(reasons),
        counted=change != "amends",
    )
    outcome = FeedbackOutcome(state, answer, change, unknown_ticket=ticket is None)
    if change == "replaces" and previous is not None and previous.counted:
        outcome.replaced = previous
        state.answers = [
            a.model_copy(update={"counted": False}) if a.feedback_id == previous.feedback_id else a
            for a in state.answers
        ]
    state.answers = [*state.answers, answer][-ANSWERS_KEPT:]
    if ticket is None or ticket.customer_id is None:
        outcome.notes.append("feedback for a ticket not known here: kept and reported")
        return outcome

    pending = state.second_followup
    if not answer.dissatisfied:
        if pending is not None and pending.cycle == cycle:
            outcome.cancel, state.second_followup = pending, None
        return outcome
    if pending is not None and pending.cycle == cycle:
        outcome.notes.append("a second follow-up is already scheduled")
        return outcome
    first_recovery = cycle not in state.recovered_cycles
    if rules.reopen and ticket.status in ("resolved", "closed"):
        outcome.reopen = reopen_action(
            ticket.ticket_id, feedback.feedback_id, answered_at=min(answered_at, now), reasons=reasons
        )
    outcome.escalate = rules.escalate and first_recovery
    if first_recovery:
        state.recovered_cycles = [*state.recovered_cycles, cycle][-ANSWERS_KEPT:]
    due_at = now + rules.second_followup_after.resolve(86400.0)
    zone = customer_zone(zone_name, file.zone)
    state.second_followup = outcome.schedule = ScheduledFollowup(
        ticket_id=ticket.ticket_id,
        customer_id=ticket.customer_id,
        kind="second_followup",
        name=SECOND_FOLLOWUP,
        cycle=cycle,
        resolved_at=ticket.resolved_at or answered_at,
        due_at=due_at,
        fire_at=hold_for_quiet_hours(due_at, file.quiet_hours, zone),
        via=rules.second_followup_via,
        channel=channel_for(rules.second_followup_via, profile, feedback.channel or ticket.channel),
        language=language,
        feedback_key=feedback.feedback_id,
    )
    return outcome


def second_followup_done(state: TicketFeedback, followup: ScheduledFollowup) -> TicketFeedback:
    """Forget the pending second follow-up once it fired or was cancelled."""
    state = state.model_copy(deep=True)
    if state.second_followup is not None and state.second_followup.key == followup.key:
        state.second_followup = None
    return state


def reopen_action(ticket_id: str, feedback_key: str, *, answered_at: float, reasons: list[str]) -> TicketAction:
    """The automated reopen a dissatisfied answer brings; its id derives from the answer (a retry collapses)."""
    return TicketAction(
        action_id=ids.action_id(ticket_id, f"feedback-reopen:{feedback_key}"),
        ticket_id=ticket_id,
        type="reopen",
        by=RECOVERY_BY,
        at=datetime.fromtimestamp(answered_at, UTC),
        automated=True,
        note=("dissatisfied answer: " + "; ".join(reasons))[:2000],
    )


def recovery_notify(
    policies: PolicyFile, ticket: TicketState, fallback: tuple[str, ...] = ("supervisor",)
) -> tuple[str, ...]:
    """Who hears of a dissatisfied answer: the first step of the ticket's policy's resolution ladder."""
    policy = policies.by_name(ticket.policy)
    ladder = policies.ladder(policy, "resolution") if policy is not None else policies.escalation
    return ladder[0].notify if ladder else fallback


def fire_facts(ticket: TicketState | None, state: TicketFeedback | None) -> TicketFacts | None:
    """What the fire-time check needs: the ticket now, the cycles rated and whether the latest answer is bad."""
    if ticket is None:
        return None
    latest = state.latest() if state is not None else None
    rated = state.rated_cycles() if state is not None else frozenset()
    bad = None if latest is None else latest.dissatisfied
    return TicketFacts.of(ticket, rated_cycles=rated, latest_dissatisfied=bad)
