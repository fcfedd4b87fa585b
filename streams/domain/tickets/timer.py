"""Points that fall due: SLA warnings, breaches and escalations, and held replies promoted."""

from __future__ import annotations

from streams.domain import sla
from streams.domain.tickets.outcome import Outcome
from streams.domain.tickets.replies import (
    no_ticket_detail,
    opens_own_ticket,
    promote,
    received,
)
from streams.domain.tickets.state import ReplyHold, TicketState, held_until


def fire_due(
    state: TicketState, *, now: float, upto: float | None = None, reply_hold: ReplyHold | None = None
) -> Outcome:
    """The SLA timer's step: every warning, breach or escalation point due by `upto` (default
    `now`; earlier while the actions that could still stop the clock are being caught up on),
    and — given `reply_hold` (seconds, for every channel or by channel) — every held reply that
    has waited that long for its ticket, promoted to a request of its own. Of a web chat
    conversation's follow-ups only the earliest is promoted (it opens the conversation's
    ticket); the others wait for that ticket and apply to it in order."""
    upto = now if upto is None else upto
    outcome = Outcome(state=state)
    for clock in state.clocks.values():
        outcome.sla_events.extend(sla.fire_points(clock, upto=upto, now=now))
    if reply_hold is not None:
        held = state.held_replies()
        waited = [action for action in held if held_until(action, reply_hold) <= upto]
        opening = [action for action in held if opens_own_ticket(state, action)]
        if any(opens_own_ticket(state, action) for action in waited):
            first = min(opening, key=received)  # the earliest follow-up opens the conversation
            waited = [action for action in waited if not opens_own_ticket(state, action)] + [first]
        if waited:
            promoted = {action.action_id for action in waited}
            state.early_actions = [action for action in state.early_actions if action.action_id not in promoted]
            for action in waited:
                promote(state, action, "no_ticket", no_ticket_detail(state, action, reply_hold), outcome)
            state.updated_at = now
    if not outcome.sla_events and not outcome.promotions:
        outcome.state = None
    return outcome
