"""Actions on a ticket (replies, pauses, resolution, transfers, repairs) applied to its state."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.domain.policies import PolicyFile
from streams.domain.tickets.clocks import Clocks, apply_to_clocks
from streams.domain.tickets.outcome import Outcome
from streams.domain.tickets.replies import bound_held, continued_ticket, forward
from streams.domain.tickets.state import ACTION_CLOCK_SKEW_SECONDS, TicketState
from streams.models import TicketAction


def apply_action(state: TicketState | None, action: TicketAction, *, policies: PolicyFile, now: float) -> Outcome:
    """An agent or customer action: stop, pause, resume or restart the clocks."""
    if state is None:
        state = TicketState(ticket_id=action.ticket_id, status="awaiting_request")
    if action.action_id in state.recent_action_ids or any(
        held.action_id == action.action_id for held in state.early_actions
    ):
        return Outcome(state=None, duplicate=True)
    state.updated_at = now
    outcome = Outcome(state=state)
    if (continued := continued_ticket(state, action)) is not None:
        forward(state, action, continued, outcome)
        return outcome
    if state.status == "awaiting_request":
        state.early_actions = [*state.early_actions, action]
        bound_held(state, outcome)
        return outcome
    if (early := _before_submission(state, action)) is not None:
        return Outcome(state=None, rejection=early, rejection_code="invalid_action")
    apply_to_clocks(Clocks(state, policies, outcome.sla_events, now), action, outcome)
    return outcome


def _before_submission(state: TicketState, action: TicketAction) -> str | None:
    """Why an action dated before its ticket's request was submitted (beyond clock skew) cannot
    move the clocks, or None. A repair carries the replay's own moment and is not checked."""
    if action.type == "repair" or state.submitted_at is None:
        return None
    if action.at.timestamp() >= state.submitted_at - ACTION_CLOCK_SKEW_SECONDS:
        return None
    submitted = datetime.fromtimestamp(state.submitted_at, UTC).isoformat(timespec="seconds")
    return (
        f"at: {action.at.isoformat(timespec='seconds')} is before ticket {state.ticket_id} was submitted "
        f"({submitted}); an action cannot precede its request by more than {ACTION_CLOCK_SKEW_SECONDS:.0f}s"
    )
