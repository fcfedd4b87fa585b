"""Customer replies whose ticket is not found: held, passed on, or promoted to requests of their own (docs/tickets.md)."""

from __future__ import annotations

from typing import Literal

from streams.domain.tickets.outcome import Outcome, Promotion
from streams.domain.tickets.state import (
    EARLY_ACTIONS_KEPT,
    HELD_REPLIES_KEPT,
    PROMOTED_REPLIES_KEPT,
    ReplyHold,
    TicketState,
    hold_for,
)
from streams.models import TicketAction


def continued_ticket(state: TicketState, action: TicketAction) -> str | None:
    """The ticket a customer's reply continues: an e-mail reply answering, within this thread,
    a reply that became a ticket of its own (the most recent such mail it references); a web
    chat message on a closed ticket whose conversation went on in a ticket of its own (the most
    recent one)."""
    if action.type != "customer_reply" or action.unmatched is None:
        return None
    promoted = [ticket for ticket in state.promoted_replies if ticket != state.ticket_id]
    if not promoted:
        return None
    if action.unmatched.in_conversation:
        return promoted[-1] if state.status == "closed" else None
    return next((ticket for ticket in action.unmatched.referenced_tickets() if ticket in promoted), None)


def forward(state: TicketState, action: TicketAction, ticket_id: str, outcome: Outcome) -> None:
    """Pass the reply on to the ticket it continues, as the action it would have been there."""
    assert action.unmatched is not None
    passed_on = {"ticket_id": ticket_id, "action_id": action.unmatched.action_id_on(ticket_id)}
    outcome.forwarded.append(action.model_copy(update=passed_on))
    state.remember_action(action.action_id)
    if state.request_id is not None:
        state.last_action = action.action_id  # as for any action on a ticket (sla replay counts it too)


def bound_held(state: TicketState, outcome: Outcome) -> None:
    """Keep at most HELD_REPLIES_KEPT promotable replies and EARLY_ACTIONS_KEPT actions in all:
    the oldest reply over the limit becomes a request at once; other actions over it are dropped."""
    while True:
        held = state.held_replies()
        if len(held) > HELD_REPLIES_KEPT:
            victim = min(held, key=received) if opens_own_ticket(state, held[0]) else held[0]
        elif len(state.early_actions) > EARLY_ACTIONS_KEPT:
            victim = state.early_actions[0]
        else:
            return
        state.early_actions = [action for action in state.early_actions if action is not victim]
        if victim.unmatched is not None:
            if opens_own_ticket(state, victim):
                detail = (
                    f"more than {HELD_REPLIES_KEPT} messages of the conversation were waiting for its ticket "
                    f"{state.ticket_id}: the earliest opens it"
                )
            else:
                detail = (
                    f"more than {HELD_REPLIES_KEPT} replies were waiting for ticket {state.ticket_id}, which "
                    "does not exist here (a mail sent to many customers?)"
                )
            promote(state, victim, "no_ticket", detail, outcome)


def received(action: TicketAction) -> tuple[float, float]:
    """Order of a conversation's messages: when sent, then when received."""
    assert action.unmatched is not None
    return action.at.timestamp(), action.unmatched.received_at.timestamp()


def opens_own_ticket(state: TicketState, action: TicketAction) -> bool:
    """A web chat follow-up whose request would be the conversation's own, the ticket it waits on."""
    return action.unmatched is not None and action.unmatched.ticket_id == state.ticket_id


def promote(
    state: TicketState,
    action: TicketAction,
    reason: Literal["no_ticket", "ticket_closed"],
    detail: str,
    outcome: Outcome,
) -> None:
    """The reply becomes a request of its own; the thread's state remembers it was handled (a
    web chat follow-up that opens its own conversation's ticket: that the request is on its way)."""
    promotion = Promotion(action, reason, detail)
    outcome.promotions.append(promotion)
    state.remember_action(action.action_id)
    if promotion.ticket_id not in state.promoted_replies:
        state.promoted_replies = [*state.promoted_replies, promotion.ticket_id][-PROMOTED_REPLIES_KEPT:]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def no_ticket_detail(state: TicketState, action: TicketAction, reply_hold: ReplyHold) -> str:
    assert action.unmatched is not None
    waited = _minutes(hold_for(reply_hold, action.unmatched.channel))
    if opens_own_ticket(state, action):
        return (
            f"the conversation's opening message did not become ticket {state.ticket_id} within {waited} of "
            "this message (refused, sent before Ticketflow was connected, or never delivered): this message "
            "opens it, and the conversation's later messages apply to it"
        )
    return (
        f"no ticket {state.ticket_id} turned up within {waited} of the reply: the mail "
        "it answers never became a ticket here, or its ticket was closed and has left the table"
    )
