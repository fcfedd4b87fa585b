"""Records and steps the ticket tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams import ids
from streams.domain import tickets
from streams.models import (
    CanonicalRequest,
    Classification,
    ClassifiedRequest,
    CustomerRef,
    TicketAction,
)

SUBMITTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
T = SUBMITTED.timestamp()


def classified(ticket="TKT-1", request_type="inquiry", grade=None, tier="regular", confidence=0.9, aspects=()):
    request = CanonicalRequest(
        request_id="REQ-1",
        ticket_id=ticket,
        channel="app",
        customer_id="C1",
        customer=CustomerRef(id="C1"),
        text="hi",
        language="en",
        submitted_at=SUBMITTED,
        received_at=SUBMITTED,
        idempotency_key="k",
    )
    classification = Classification(
        type=request_type,
        urgency="normal",
        complaint_grade=grade,
        segment=tier,
        confidence=confidence,
        aspects=list(aspects),
        model_version="t",
    )
    return ClassifiedRequest(request=request, classification=classification)


def action(kind, at, ticket="TKT-1", key=None, **fields):
    return TicketAction(
        action_id=ids.action_id(ticket, key or f"{kind}-{at}"),
        ticket_id=ticket,
        type=kind,
        by="agent-1",
        at=SUBMITTED + timedelta(seconds=at),
        **fields,
    )


def open_one(routing, policies, now=T + 1, **kw):
    return tickets.open_ticket(None, classified(**kw), routing=routing, policies=policies, now=now)


def act(state, policies, kind, at, **fields):
    return tickets.apply_action(state, action(kind, at, **fields), policies=policies, now=T + at)


def kinds(outcome):
    return [(event.kind, event.metric, event.level) for event in outcome.sla_events]


HOLD = 600.0
RETENTION = tickets.Retention(tickets=3600, orphan_actions=86400, unmatched_replies=HOLD)
CHAT_HOLD = 120.0
HOLDS = {"email": HOLD, "webchat": CHAT_HOLD}
CONVERSATION = ids.ticket_id("webchat", "cv-1")


def hold(state, reply, now):
    return tickets.apply_action(state, reply, policies=None, now=now)
