"""Shared builders for the follow-up and care tests."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from streams.domain.config_files import bundled_file
from streams.domain.followups.files import load_care_file, load_followup_file
from streams.domain.tickets import TicketState
from streams.models import CustomerProfile, Feedback

SHANGHAI = ZoneInfo("Asia/Shanghai")
FOLLOWUPS = load_followup_file()
FOLLOWUPS_DEMO = load_followup_file(bundled_file("followups-demo.yaml"))
CARE = load_care_file()
CARE_DEMO = load_care_file(bundled_file("care-demo.yaml"))


def at(text: str, zone: ZoneInfo = SHANGHAI) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def local(moment: float, zone: ZoneInfo = SHANGHAI) -> str:
    return datetime.fromtimestamp(moment, zone).strftime("%Y-%m-%d %H:%M")


def resolved_ticket(resolved: str, **changes) -> TicketState:
    fields = dict(
        ticket_id="TKT-1",
        status="resolved",
        customer_id="C-1",
        channel="app",
        type="inquiry",
        urgency="normal",
        segment="regular",
        department="service",
        policy="routine",
        submitted_at=at(resolved) - 3600,
        first_response_at=at(resolved) - 1800,
        resolved_at=at(resolved),
        first_resolved_at=at(resolved),
    )
    fields.update(changes)
    return TicketState(**fields)


def profile(**changes) -> CustomerProfile:
    fields = dict(customer_id="C-1", tier="regular")
    fields.update(changes)
    return CustomerProfile(**fields)


def feedback(feedback_id: str, answered: str, ticket_id: str = "TKT-1", **answer) -> Feedback:
    return Feedback(
        ticket_id=ticket_id,
        feedback_id=feedback_id,
        received_at=datetime.fromtimestamp(at(answered)),
        answered_at=datetime.fromtimestamp(at(answered)),
        **answer,
    )


def day(text: str) -> date:
    return date.fromisoformat(text)
