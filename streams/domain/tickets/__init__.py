"""A ticket's life: opening (route + policy + clocks), actions that move its clocks, and points
that fall due. Pure: the current state and an input in, the new state and what to emit out; the
lifecycle stage and the SLA timer are thin loops around these functions. The rules are in
docs/tickets.md."""

from streams.domain.tickets.actions import apply_action
from streams.domain.tickets.opening import match_fields, open_ticket
from streams.domain.tickets.outcome import Outcome, Promotion, RoutedCopy
from streams.domain.tickets.state import (
    ACTION_CLOCK_SKEW_SECONDS,
    EARLY_ACTIONS_KEPT,
    HELD_REPLIES_KEPT,
    PROMOTED_REPLIES_KEPT,
    RECENT_ACTIONS_KEPT,
    Retention,
    TicketState,
    TicketStatus,
)
from streams.domain.tickets.timer import fire_due

__all__ = [
    "ACTION_CLOCK_SKEW_SECONDS",
    "EARLY_ACTIONS_KEPT",
    "HELD_REPLIES_KEPT",
    "PROMOTED_REPLIES_KEPT",
    "RECENT_ACTIONS_KEPT",
    "Outcome",
    "Promotion",
    "Retention",
    "RoutedCopy",
    "TicketState",
    "TicketStatus",
    "apply_action",
    "fire_due",
    "match_fields",
    "open_ticket",
]
