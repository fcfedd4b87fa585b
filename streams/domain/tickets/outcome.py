"""What one step of a ticket changed: its new state, the copies routed, SLA events, promotions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from streams import ids
from streams.domain import sla
from streams.domain.routing import RoutingDecision
from streams.domain.tickets.state import TicketState
from streams.models import RequestOrigin, TicketAction


@dataclass(frozen=True)
class RoutedCopy:
    """A copy of the ticket for a department queue."""

    department: str
    role: Literal["owner", "cc", "transfer"]
    sequence: int = 0


@dataclass(frozen=True)
class Promotion:
    """A customer's reply (e-mail, web chat) that becomes a request of its own (its ticket was
    not found, or is closed)."""

    action: TicketAction  # the customer_reply, with its `unmatched` request
    reason: Literal["no_ticket", "ticket_closed"]
    detail: str

    @property
    def channel(self) -> str:
        assert self.action.unmatched is not None
        return self.action.unmatched.channel

    @property
    def ticket_id(self) -> str:
        """The ticket the promoted request opens (for a web chat follow-up whose conversation has
        no ticket: the conversation's own, the one the follow-up was held on)."""
        assert self.action.unmatched is not None
        return ids.ticket_id(self.channel, self.action.unmatched.promoted_key(self.reason))

    def origin(self) -> RequestOrigin:
        assert self.action.unmatched is not None
        return RequestOrigin(
            reason=self.reason,
            detail=self.detail,
            thread_ticket=self.action.ticket_id,
            thread_message_id=self.action.unmatched.thread_message_id,
            reply_action_id=self.action.action_id,
        )


@dataclass
class Outcome:
    """What a step changed. `state` is None when nothing changed (a duplicate)."""

    state: TicketState | None
    routed: list[RoutedCopy] = field(default_factory=list)
    sla_events: list[sla.SlaEvent] = field(default_factory=list)
    promotions: list[Promotion] = field(default_factory=list)
    routing: RoutingDecision | None = None
    forwarded: list[TicketAction] = field(default_factory=list)  # for tickets.actions: replies passed on
    duplicate: bool = False
    opened: bool = False
    rejection: str | None = None  # why an action was refused (a stale repair, a moment before the request)
    rejection_code: str = "stale_repair"
