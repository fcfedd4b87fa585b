"""A ticket as the tickets table holds it, and how long the table keeps what (docs/tickets.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from streams.domain import sla
from streams.models import RequestOrigin, TicketAction

# Remembered per ticket to drop a redelivered action; older ids fall off.
RECENT_ACTIONS_KEPT = 32


# Actions that arrive before their request are held until it does, up to this many.
EARLY_ACTIONS_KEPT = 50


# Clocks of two systems disagree a little: an action may be dated this much before its request.
ACTION_CLOCK_SKEW_SECONDS = 300.0


# Of those, customer e-mail replies that would open a request of their own: beyond this many
# (a mailing answered by many customers), the oldest is promoted at once instead of waiting.
HELD_REPLIES_KEPT = 10


# Tickets that replies of one thread were promoted to, remembered on the thread's state.
PROMOTED_REPLIES_KEPT = 20


TicketStatus = Literal["awaiting_request", "open", "pending", "resolved", "closed"]


@dataclass(frozen=True)
class Retention:
    """How long the tickets table keeps what, in seconds."""

    tickets: float = 30 * 86400  # resolved and closed tickets, after resolution or closing
    orphan_actions: float = 86400  # actions whose request never arrives
    unmatched_replies: float = 15 * 60  # e-mail replies waiting for their ticket before they become requests
    unmatched_chat_replies: float = 2 * 60  # web chat follow-ups waiting for their conversation's ticket

    @property
    def reply_holds(self) -> dict[str, float]:
        """How long a held reply waits for its ticket, by channel."""
        return {"email": self.unmatched_replies, "webchat": self.unmatched_chat_replies}


# A hold for every channel, or per channel (a channel not named waits the longest hold named).
ReplyHold = float | Mapping[str, float]


def hold_for(hold: ReplyHold, channel: str) -> float:
    if isinstance(hold, Mapping):
        return hold.get(channel, max(hold.values()))
    return hold


def held_until(action: TicketAction, reply_hold: ReplyHold) -> float:
    assert action.unmatched is not None
    return action.unmatched.received_at.timestamp() + hold_for(reply_hold, action.unmatched.channel)


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
    language: str | None = None  # the request's: the follow-ups' language
    repeat_of: str | None = None  # the earlier ticket this request repeats (it is surveyed, not this one)
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
    last_action: str | None = None  # id of the last applied action (repairs excluded)
    updated_at: float | None = None  # processing time of the last change (retention counts from it too)
    repairs: int = 0
    clocks: dict[str, sla.Clock] = {}
    early_actions: list[TicketAction] = []
    recent_action_ids: list[str] = []
    origin: RequestOrigin | None = None  # the request was a reply (e-mail, web chat) whose ticket was not found
    promoted_replies: list[str] = []  # tickets opened from replies in this ticket's thread (or this one, below)

    @property
    def awaits_own_request(self) -> bool:
        """A held web chat follow-up was promoted to this very ticket's request, on its way."""
        return self.status == "awaiting_request" and self.ticket_id in self.promoted_replies

    def held_replies(self) -> list[TicketAction]:
        """Held customer replies that become requests of their own if no ticket turns up (not
        the follow-ups that wait for the request one of them already became)."""
        if self.status != "awaiting_request":
            return []
        opening = self.awaits_own_request
        return [
            action
            for action in self.early_actions
            if action.unmatched is not None and not (opening and action.unmatched.ticket_id == self.ticket_id)
        ]

    def promotion_due(self, hold: ReplyHold) -> float | None:
        """When the first held reply has waited its channel's `hold` seconds since it was received."""
        moments = [held_until(action, hold) for action in self.held_replies()]
        return min(moments) if moments else None

    def remember_action(self, action_id: str) -> None:
        """Keep an applied action's id, so a redelivered copy is recognised (the oldest fall off)."""
        if action_id not in self.recent_action_ids:
            self.recent_action_ids = [*self.recent_action_ids, action_id][-RECENT_ACTIONS_KEPT:]

    @property
    def is_open(self) -> bool:
        return self.status in ("open", "pending")

    def next_due(self) -> float | None:
        moments = [moment for clock in self.clocks.values() if (moment := clock.next_point()) is not None]
        return min(moments) if moments else None

    def expires_at(self, retention: Retention) -> float | None:
        """When the ticket may leave the table: `retention.tickets` after it was resolved or
        closed, and after it was last changed here (so an imported historical ticket stays
        long enough for a re-import to be recognised); an action whose request never came,
        `retention.orphan_actions` after it arrived or after the last change; a thread whose
        replies became tickets, `retention.tickets` after the last change (follow-ups in their
        conversations are passed on meanwhile). Open tickets never expire, nor does a thread
        while a held reply waits to be promoted."""
        seen = self.updated_at or 0.0
        if self.status == "closed" and self.closed_at is not None:
            return max(self.closed_at, seen) + retention.tickets
        if self.status == "resolved" and self.resolved_at is not None:
            return max(self.resolved_at, seen) + retention.tickets
        if self.status == "awaiting_request":
            if self.held_replies():
                return None  # each becomes a request first (promotion_due)
            arrived = min((action.at.timestamp() for action in self.early_actions), default=seen)
            expiry = max(arrived, seen) + retention.orphan_actions
            if self.promoted_replies:  # follow-ups in their conversations are passed on meanwhile
                expiry = max(expiry, seen + retention.tickets)
            return expiry
        return None

    def wake_at(self, retention: Retention) -> float | None:
        """The next moment the SLA timer must look at this ticket: a due point, a held reply's
        promotion or its expiry."""
        moments = [
            m
            for m in (self.next_due(), self.promotion_due(retention.reply_holds), self.expires_at(retention))
            if m is not None
        ]
        return min(moments) if moments else None

    def match_fields(self) -> dict:
        return {
            "channel": self.channel,
            "type": self.type,
            "urgency": self.urgency,
            "complaint_grade": self.complaint_grade,
            "tier": self.segment,
            "department": self.department,
        }
