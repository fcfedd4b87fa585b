"""When a resolved ticket is surveyed or called back, and whether a due follow-up still fires.

- `plan_survey`: on resolution (or a close that follows a human reply), the first survey of the
  follow-up file whose `match` fits the ticket decides the delay and the channel. The due
  moment is `after_resolution` after the resolution, in business time when the survey names a
  calendar (holidays and 调休 counted); the fire moment is the due moment moved out of the
  customer's quiet hours. Some tickets are never surveyed (`NeverSurvey`).
- `check_at_fire`: at the fire moment the follow-up is checked again against the ticket, the
  feedback received and the customer's contact record: it fires, is held (quiet hours, the gap
  after the last contact) or is cancelled with a reason.

A follow-up is identified by ticket, kind and resolution cycle (`followup_key`): a reopened
and resolved-again ticket is a new cycle with its own survey.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from streams.domain.followups.contacts import ContactLog
from streams.domain.followups.files import FollowupFile, QuietHours
from streams.domain.tickets import TicketState
from streams.models import CustomerProfile

FollowupKind = Literal["survey", "callback", "second_followup"]
SkipReason = Literal["duplicate", "promoted_reply_parent", "closed_without_reply", "not_resolved", "no_customer"]
CancelReason = Literal[
    "reopened", "not_resolved", "already_rated", "suppressed", "better_answer", "expired", "superseded"
]
HoldReason = Literal["quiet_hours", "contact_gap"]


class ScheduledFollowup(BaseModel):
    """A follow-up waiting for its moment (value of the pending follow-ups, keyed by ticket id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticket_id: str
    customer_id: str
    kind: FollowupKind
    name: str  # the survey of the follow-up file, or "second-followup"
    cycle: int  # the ticket's resolution cycle (its reopen count when it was resolved)
    resolved_at: float
    due_at: float  # as the file says (business time), before quiet hours and the contact gap
    fire_at: float  # when to look at it next (due_at, or later while held)
    via: str
    channel: str  # the channel to use ("phone" for a callback)
    language: str | None = None
    feedback_key: str | None = None  # second follow-up: the dissatisfied answer it follows
    holds: int = 0

    @property
    def key(self) -> str:
        return followup_key(self.ticket_id, self.kind, self.cycle)


def followup_key(ticket_id: str, kind: FollowupKind, cycle: int) -> str:
    return f"{ticket_id}:{kind}:{cycle}"


@dataclass(frozen=True)
class Skipped:
    reason: SkipReason
    detail: str


@dataclass(frozen=True)
class FireDecision:
    verdict: Literal["fire", "hold", "cancel"]
    at: float  # fire: now; hold: the new fire moment; cancel: now
    reason: HoldReason | CancelReason | None = None
    late: bool = False  # fired (or cancelled) more than a second after it was due
    detail: str = ""


LATE_AFTER_SECONDS = 1.0


def customer_zone(zone_name: str | None, default: ZoneInfo) -> ZoneInfo:
    """The customer's time zone, or the business zone when unknown or not a zone."""
    if not zone_name:
        return default
    try:
        return ZoneInfo(zone_name)
    except (ValueError, KeyError, OSError):
        return default


def channel_for(via: str, profile: CustomerProfile | None, ticket_channel: str | None) -> str:
    """callback: an agent phones; preferred: the profile's preferred channel, else the request's."""
    if via == "callback":
        return "phone"
    if via == "preferred":
        if profile is not None and profile.preferred_channel is not None:
            return profile.preferred_channel
        return ticket_channel or "phone"
    return via


def never_surveyed(ticket: TicketState, file: FollowupFile, *, repeat_of: str | None = None) -> Skipped | None:
    rules = file.never_survey
    if ticket.customer_id is None:
        return Skipped("no_customer", "the ticket has no customer to ask")
    if rules.duplicates and repeat_of is not None:
        return Skipped("duplicate", f"the ticket repeats {repeat_of}, which is surveyed")
    if rules.promoted_reply_parents and [t for t in ticket.promoted_replies if t != ticket.ticket_id]:
        return Skipped("promoted_reply_parent", "the conversation went on in tickets opened from its replies")
    if rules.closed_without_reply and ticket.status == "closed" and ticket.first_response_at is None:
        return Skipped("closed_without_reply", "closed without any human reply")
    return None


def resolution_moment(ticket: TicketState) -> float | None:
    """The end of the ticket's current cycle: its resolution, or its closing after a human reply."""
    if ticket.status == "resolved":
        return ticket.resolved_at
    if ticket.status == "closed":
        if ticket.resolved_at is not None:
            return ticket.resolved_at
        return ticket.closed_at if ticket.first_response_at is not None else None
    return None


def plan_survey(
    ticket: TicketState,
    file: FollowupFile,
    *,
    profile: CustomerProfile | None = None,
    language: str | None = None,
    repeat_of: str | None = None,
    zone_name: str | None = None,
) -> ScheduledFollowup | Skipped:
    """The survey (or callback) a resolved ticket gets, or why it gets none."""
    skipped = never_surveyed(ticket, file, repeat_of=repeat_of)
    if skipped is not None:
        return skipped
    resolved_at = resolution_moment(ticket)
    if resolved_at is None:
        return Skipped("not_resolved", f"the ticket is {ticket.status}")
    survey = file.select(ticket.match_fields())
    calendar = file.calendar(survey)
    due_at = calendar.add(resolved_at, survey.after_resolution.resolve(calendar.day_seconds))
    fire_at = hold_for_quiet_hours(due_at, file.quiet_hours, customer_zone(zone_name, file.zone))
    assert ticket.customer_id is not None
    return ScheduledFollowup(
        ticket_id=ticket.ticket_id,
        customer_id=ticket.customer_id,
        kind="callback" if survey.via == "callback" else "survey",
        name=survey.name,
        cycle=ticket.reopen_count,
        resolved_at=resolved_at,
        due_at=due_at,
        fire_at=fire_at,
        via=survey.via,
        channel=channel_for(survey.via, profile, ticket.channel),
        language=language,
    )


def hold_for_quiet_hours(moment: float, quiet: QuietHours | None, zone: ZoneInfo) -> float:
    """`moment`, or the end of the customer's quiet hours when it falls inside them."""
    return moment if quiet is None else quiet.release(moment, zone)


@dataclass(frozen=True)
class TicketFacts:
    """What the fire-time check needs to know about the ticket now."""

    status: str
    cycle: int  # the ticket's reopen count now
    rated_cycles: frozenset[int] = frozenset()  # cycles with an answer on the feedback topic
    latest_dissatisfied: bool | None = None  # second follow-up: is the latest answer still dissatisfied?

    @classmethod
    def of(
        cls, ticket: TicketState, *, rated_cycles: frozenset[int] = frozenset(), latest_dissatisfied: bool | None = None
    ) -> TicketFacts:
        return cls(ticket.status, ticket.reopen_count, rated_cycles, latest_dissatisfied)


def check_at_fire(
    followup: ScheduledFollowup,
    facts: TicketFacts | None,
    contacts: ContactLog | None,
    file: FollowupFile,
    *,
    min_gap_seconds: float,
    now: float,
    zone_name: str | None = None,
) -> FireDecision:
    """Fire, hold or cancel a due follow-up, checked against the ticket and the contact budget now."""
    late = now - followup.due_at > LATE_AFTER_SECONDS

    def cancel(reason: CancelReason, detail: str) -> FireDecision:
        return FireDecision("cancel", now, reason, late, detail)

    if followup.kind == "second_followup":
        if facts is not None and facts.latest_dissatisfied is False:
            return cancel("better_answer", "a better answer arrived before the second follow-up was due")
    else:
        if facts is None or facts.status not in ("resolved", "closed"):
            return cancel("not_resolved", "the ticket is no longer resolved" if facts else "the ticket is gone")
        if facts.cycle != followup.cycle:
            detail = f"the ticket was reopened (cycle {facts.cycle}, survey for cycle {followup.cycle})"
            return cancel("reopened", detail)
        if followup.cycle in facts.rated_cycles:
            return cancel("already_rated", "the customer already answered for this resolution")
        log = contacts or ContactLog()
        window = file.suppression.resolve(86400.0)
        if log.surveyed_within(now, window, excluding_key=followup.key):
            return cancel("suppressed", f"the customer was surveyed within {file.suppression}")
    if now - followup.due_at > file.give_up_after.resolve(86400.0):
        return cancel("expired", f"held more than {file.give_up_after} past its due moment")

    zone = customer_zone(zone_name, file.zone)
    quiet_end = hold_for_quiet_hours(now, file.quiet_hours, zone)
    if quiet_end > now:
        return FireDecision("hold", quiet_end, "quiet_hours", late, "the customer's quiet hours")
    gap_end = (contacts or ContactLog()).next_allowed(now, min_gap_seconds)
    if gap_end > now:
        return FireDecision(
            "hold",
            hold_for_quiet_hours(gap_end, file.quiet_hours, zone),
            "contact_gap",
            late,
            "the customer was contacted less than the contact budget's gap ago",
        )
    return FireDecision("fire", now, None, late)


def held(followup: ScheduledFollowup, decision: FireDecision) -> ScheduledFollowup:
    """The follow-up to keep after a hold: the same key and due moment, a later fire moment."""
    return followup.model_copy(update={"fire_at": decision.at, "holds": followup.holds + 1})
