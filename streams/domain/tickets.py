"""A ticket's life: opening (route + policy + clocks), actions that move its clocks, and
points that fall due. Pure: the current state and an input in, the new state and what to
emit out. The lifecycle agent and the SLA timer are thin loops around these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from streams.domain import sla
from streams.domain.policies import METRICS, PolicyFile
from streams.domain.routing import RoutingConfig, RoutingDecision, route
from streams.models import ClassifiedRequest, TicketAction

# Remembered per ticket to drop a redelivered action; older ids fall off.
RECENT_ACTIONS_KEPT = 32
# Actions that arrive before their request are held until it does, up to this many.
EARLY_ACTIONS_KEPT = 50

# Actions in which a person tells the customer something: they stop the first-response clock.
_HUMAN_RESPONSES = frozenset({"reply", "progress", "pending", "resolve"})

TicketStatus = Literal["awaiting_request", "open", "pending", "resolved", "closed"]


class TicketState(BaseModel):
    """Value of the tickets table (keyed by ticket id)."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: str
    status: TicketStatus
    request_id: str | None = None
    customer_id: str | None = None
    channel: str | None = None
    type: str | None = None
    urgency: str | None = None
    complaint_grade: int | None = None
    segment: str | None = None
    department: str | None = None  # owner: fixed from routing until the ticket is closed
    handling_department: str | None = None  # who works on it now (changes on transfer)
    cc: tuple[str, ...] = ()
    policy: str | None = None
    submitted_at: float | None = None
    first_response_at: float | None = None
    first_resolved_at: float | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    reopen_count: int = 0
    transfer_count: int = 0
    clocks: dict[str, sla.Clock] = {}
    early_actions: list[TicketAction] = []
    recent_action_ids: list[str] = []

    @property
    def is_open(self) -> bool:
        return self.status in ("open", "pending")

    def next_due(self) -> float | None:
        moments = [moment for clock in self.clocks.values() if (moment := clock.next_point()) is not None]
        return min(moments) if moments else None


@dataclass(frozen=True)
class RoutedCopy:
    """A copy of the ticket for a department queue."""

    department: str
    role: Literal["owner", "cc", "transfer"]
    sequence: int = 0


@dataclass
class Outcome:
    """What a step changed. `state` is None when nothing changed (a duplicate)."""

    state: TicketState | None
    routed: list[RoutedCopy] = field(default_factory=list)
    sla_events: list[sla.SlaEvent] = field(default_factory=list)
    routing: RoutingDecision | None = None
    duplicate: bool = False
    opened: bool = False
    became_closed: bool = False


def ticket_facts(classified: ClassifiedRequest) -> dict:
    request, classification = classified.request, classified.classification
    return {
        "channel": request.channel,
        "type": classification.type,
        "urgency": classification.urgency,
        "complaint_grade": classification.complaint_grade,
        "tier": classification.segment,
        "aspects": classification.aspects,
    }


def open_ticket(
    state: TicketState | None,
    classified: ClassifiedRequest,
    *,
    routing: RoutingConfig,
    policies: PolicyFile,
    now: float,
) -> Outcome:
    """A classified request arrives: route it, pick its policy, start its clocks."""
    request, classification = classified.request, classified.classification
    if state is not None and state.request_id is not None:
        return Outcome(state=None, duplicate=True)
    facts = ticket_facts(classified)
    decision = route(routing, facts, classification.confidence)
    facts["department"] = decision.department
    policy = policies.select(facts)
    submitted_at = request.submitted_at.timestamp()
    ticket = TicketState(
        ticket_id=request.ticket_id,
        status="open",
        request_id=request.request_id,
        customer_id=request.customer_id,
        channel=request.channel,
        type=classification.type,
        urgency=classification.urgency,
        complaint_grade=classification.complaint_grade,
        segment=classification.segment,
        department=decision.department,
        handling_department=decision.department,
        cc=decision.cc,
        policy=policy.name,
        submitted_at=submitted_at,
        recent_action_ids=state.recent_action_ids if state else [],
    )
    outcome = Outcome(state=ticket, routing=decision, opened=True)
    outcome.routed.append(RoutedCopy(decision.department, "owner"))
    outcome.routed.extend(RoutedCopy(copied, "cc") for copied in decision.cc)
    warn_at = policies.warn_points(policy)
    for metric in METRICS:
        target = getattr(policy.targets, metric)
        if target is None:
            continue
        clock, activated = sla.start_clock(
            metric, cycle=1, started_at=submitted_at, target=target, warn_at=warn_at, now=now
        )
        ticket.clocks[metric] = clock
        outcome.sla_events.append(activated)
    # Actions that overtook the request are applied in the order they happened.
    for action in sorted(state.early_actions if state else (), key=lambda item: item.at):
        _apply(ticket, action, outcome, policies=policies, now=now)
    for clock in ticket.clocks.values():
        outcome.sla_events.extend(sla.fire_points(clock, upto=now, now=now))
    return outcome


def apply_action(state: TicketState | None, action: TicketAction, *, policies: PolicyFile, now: float) -> Outcome:
    """An agent or customer action: stop, pause, resume or restart the clocks."""
    if state is None:
        state = TicketState(ticket_id=action.ticket_id, status="awaiting_request")
    if action.action_id in state.recent_action_ids or any(
        held.action_id == action.action_id for held in state.early_actions
    ):
        return Outcome(state=None, duplicate=True)
    if state.status == "awaiting_request":
        state.early_actions = [*state.early_actions, action][-EARLY_ACTIONS_KEPT:]
        return Outcome(state=state)
    outcome = Outcome(state=state)
    _apply(state, action, outcome, policies=policies, now=now)
    return outcome


def _apply(ticket: TicketState, action: TicketAction, outcome: Outcome, *, policies: PolicyFile, now: float) -> None:
    at = min(action.at.timestamp(), now)  # an action cannot be in the future
    ticket.recent_action_ids = [*ticket.recent_action_ids, action.action_id][-RECENT_ACTIONS_KEPT:]
    events = outcome.sla_events
    if ticket.status == "closed" and action.type != "reopen":
        return
    first_response = ticket.clocks.get("first_response")
    resolution = ticket.clocks.get("resolution")

    if action.type in _HUMAN_RESPONSES and not action.automated:
        if ticket.first_response_at is None:
            ticket.first_response_at = at
        if first_response is not None:
            events.extend(sla.stop(first_response, at=at, now=now))

    kind = action.type
    if kind == "pending":
        if resolution is not None:
            events.extend(sla.pause(resolution, at=at, now=now))
        ticket.status = "pending"
    elif kind == "customer_reply":
        if resolution is not None:
            events.extend(sla.resume(resolution, at=at, now=now))
        if ticket.status == "pending":
            ticket.status = "open"
    elif kind == "resolve":
        if resolution is not None:
            events.extend(sla.stop(resolution, at=at, now=now))
        ticket.resolved_at = at
        if ticket.first_resolved_at is None:
            ticket.first_resolved_at = at
        ticket.status = "resolved"
    elif kind == "reopen":
        if ticket.status in ("resolved", "closed"):
            ticket.reopen_count += 1
            ticket.status = "open"
            ticket.closed_at = None
            policy = policies.by_name(ticket.policy or "")
            target = policy.targets.resolution if policy else (resolution.target if resolution else None)
            if target is not None:
                cycle = (resolution.cycle + 1) if resolution else 1
                warn_at = policies.warn_points(policy) if policy else (resolution.warn_at if resolution else ())
                clock, activated = sla.start_clock(
                    "resolution", cycle=cycle, started_at=at, target=target, warn_at=warn_at, now=now
                )
                ticket.clocks["resolution"] = clock
                events.append(activated)
    elif kind == "close":
        for clock in ticket.clocks.values():
            events.extend(sla.stop(clock, at=at, now=now))
        ticket.closed_at = at
        ticket.status = "closed"
        outcome.became_closed = True
    elif kind == "transfer" and action.department and action.department != ticket.handling_department:
        ticket.handling_department = action.department
        ticket.transfer_count += 1
        outcome.routed.append(RoutedCopy(action.department, "transfer", ticket.transfer_count))


def fire_due(state: TicketState, *, now: float) -> Outcome:
    """The SLA timer's step: every warning or breach point that is due now."""
    outcome = Outcome(state=state)
    for clock in state.clocks.values():
        outcome.sla_events.extend(sla.fire_points(clock, upto=now, now=now))
    if not outcome.sla_events:
        outcome.state = None
    return outcome
