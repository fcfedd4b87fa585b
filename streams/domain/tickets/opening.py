"""Opening a ticket: route, policy and clocks from a classified request."""

from __future__ import annotations

from datetime import UTC, datetime

from streams import ids
from streams.domain.policies import PolicyFile
from streams.domain.routing import RoutingConfig, route
from streams.domain.tickets.clocks import Clocks, apply_to_clocks
from streams.domain.tickets.outcome import Outcome, RoutedCopy
from streams.domain.tickets.state import TicketState
from streams.models import ClassifiedRequest, TicketAction


def match_fields(classified: ClassifiedRequest) -> dict:
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
        late = _late_opening_message(state, classified, now)
        if late is None:
            return Outcome(state=None, duplicate=True)
        state.updated_at = now
        return Outcome(state=state, forwarded=[late])
    fields = match_fields(classified)
    decision = route(routing, fields, classification.confidence)
    fields["department"] = decision.department
    policy = policies.select(fields)
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
        language=request.language,
        repeat_of=classification.repeat_of,
        department=decision.department,
        handling_department=decision.department,
        cc=decision.cc,
        policy=policy.name,
        submitted_at=submitted_at,
        recent_action_ids=state.recent_action_ids if state else [],
        origin=request.origin,
        promoted_replies=[ticket for ticket in state.promoted_replies if ticket != request.ticket_id] if state else [],
        updated_at=now,
    )
    outcome = Outcome(state=ticket, routing=decision, opened=True)
    outcome.routed.append(RoutedCopy(decision.department, "owner"))
    outcome.routed.extend(RoutedCopy(copied, "cc") for copied in decision.cc)
    clocks = Clocks(ticket, policies, outcome.sla_events, now)
    for metric in ("first_response", "progress_update", "resolution"):
        clocks.start(metric, submitted_at, cycle=1)
    # Actions that overtook the request are applied in the order they happened.
    for action in sorted(state.early_actions if state else (), key=lambda item: item.at):
        apply_to_clocks(clocks, action, outcome)
    clocks.fire_until(now)
    return outcome


def _late_opening_message(state: TicketState, classified: ClassifiedRequest, now: float) -> TicketAction | None:
    """A conversation's own opening message that arrives after a later message of it opened the
    ticket (web chat: a follow-up promoted after its hold, while the opening message was still
    on its way through a lagging stage). It has the ticket's request id, but it is not a repeat:
    its words are passed on to the ticket as the customer's message (on tickets.actions, where
    desks read customer replies), once; None for a true repeat."""
    request = classified.request
    if state.origin is None or request.origin is not None or request.request_id != state.request_id:
        return None
    action_id = ids.action_id(state.ticket_id, f"late-opening:{request.request_id}")
    if action_id in state.recent_action_ids:
        return None
    sent = request.submitted_at.isoformat(timespec="seconds")
    note = f"[the conversation's opening message, sent {sent}, arrived after the ticket was opened] {request.text}"
    return TicketAction(
        action_id=action_id,
        ticket_id=state.ticket_id,
        type="customer_reply",
        by="customer",
        at=datetime.fromtimestamp(now, UTC),
        channel=request.channel,
        note=note[:2_000],
    )
