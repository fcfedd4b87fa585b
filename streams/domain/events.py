"""Outbound CloudEvents 1.0 (structured JSON mode) for `dept.<department>` and `sla.events`.

Ids are deterministic (uuid5 over what makes the event unique: ticket, metric, cycle,
kind, level), so a consumer can drop a redelivered copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams import ids
from streams.domain.sla import SlaEvent
from streams.domain.tickets import RoutedCopy, TicketState
from streams.models import ClassifiedRequest

SPEC_VERSION = "1.0"
SOURCE_LIFECYCLE = "/ticketflow/lifecycle"
SOURCE_ROUTER = "/ticketflow/route"


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cloudevent(*, event_id: str, source: str, event_type: str, time: float, subject: str, data: dict) -> dict[str, Any]:
    return {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": iso(time),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }


def sla_event(ticket: TicketState, event: SlaEvent, *, notify: tuple[str, ...] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ticket_id": ticket.ticket_id,
        "metric": event.metric,
        "cycle": event.cycle,
        "level": event.level,
        "policy": ticket.policy,
        "due_at": iso(event.due_at),
        "at": iso(event.at),
        "emitted_at": iso(event.emitted_at),
        "department": ticket.department,
        "handling_department": ticket.handling_department,
        "channel": ticket.channel,
        "priority": ticket.urgency,
        "type": ticket.type,
        "complaint_grade": ticket.complaint_grade,
        "customer_id": ticket.customer_id,
    }
    if event.due_at is not None:
        delta = event.due_at - event.emitted_at
        data["remaining_seconds" if delta >= 0 else "overdue_seconds"] = round(abs(delta), 3)
    if event.kind in ("warning", "breached", "escalated"):
        data["late"] = event.late
    if event.kind == "escalated":
        data["notify"] = list(notify)
    if event.repair is not None:
        data["repair"] = event.repair
    if event.kind == "fulfilled":
        data["within_target"] = event.within_target
        data["elapsed_seconds"] = round(event.elapsed or 0.0, 3)
    return cloudevent(
        event_id=ids.event_id(ticket.ticket_id, event.metric, event.cycle, event.kind, event.level),
        source=SOURCE_LIFECYCLE,
        event_type=f"sla.{event.kind}",
        time=event.at,
        subject=ticket.ticket_id,
        data=data,
    )


def routed_ticket(
    ticket: TicketState, copy: RoutedCopy, classified: ClassifiedRequest | None, *, now: float, reasons: list[str]
) -> dict[str, Any]:
    """The ticket as a department queue receives it."""
    if copy.role == "transfer":
        event_type = "ticket.transferred"
        event_id = ids.event_id(ticket.ticket_id, "transferred", copy.department, copy.sequence)
    else:
        event_type = "ticket.routed"
        event_id = ids.event_id(ticket.ticket_id, "routed", copy.department)
    data: dict[str, Any] = {
        "ticket_id": ticket.ticket_id,
        "request_id": ticket.request_id,
        "role": copy.role,
        "department": copy.department,
        "owner_department": ticket.department,
        "handling_department": ticket.handling_department,
        "cc": list(ticket.cc),
        "customer_id": ticket.customer_id,
        "channel": ticket.channel,
        "type": ticket.type,
        "priority": ticket.urgency,
        "complaint_grade": ticket.complaint_grade,
        "policy": ticket.policy,
        "submitted_at": iso(ticket.submitted_at),
        "due": {metric: iso(clock.due_at) for metric, clock in ticket.clocks.items()},
        "routing_reasons": reasons,
    }
    if ticket.origin is not None:  # an e-mail reply whose ticket was not found: why, and its thread
        data["origin"] = ticket.origin.model_dump(mode="json")
    if ticket.promoted_replies:  # replies in this ticket's thread that became tickets of their own
        data["promoted_replies"] = list(ticket.promoted_replies)
    if classified is not None:
        request = classified.request
        data["customer"] = request.customer.model_dump(exclude_none=True)
        data["subject"] = request.subject
        data["text"] = request.text
        data["language"] = request.language
        data["classification"] = classified.classification.model_dump()
    return cloudevent(
        event_id=event_id,
        source=SOURCE_ROUTER,
        event_type=event_type,
        time=now,
        subject=ticket.ticket_id,
        data=data,
    )
