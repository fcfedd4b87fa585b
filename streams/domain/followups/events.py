"""CloudEvents on `followups` (keyed by ticket id) and `care` (keyed by customer id).

Ids are deterministic (streams/ids.py): a follow-up's event from its ticket, kind, cycle (and,
for a second follow-up, the answer it follows); a care event from its customer and occasion
key. A redelivered or re-sent copy has the same id, so a consumer drops it.
"""

from __future__ import annotations

from typing import Any, Literal

from streams import ids
from streams.domain.events import cloudevent, iso
from streams.domain.followups.care import CareDue
from streams.domain.followups.surveys import ScheduledFollowup

SOURCE_FOLLOWUPS = "/ticketflow/followups"
SOURCE_CARE = "/ticketflow/care"

FollowupEventType = Literal[
    "followup.survey_due",
    "followup.callback_due",
    "followup.second_followup_due",
    "followup.cancelled",
    "followup.escalated",
]
CareEventType = Literal[
    "care.new_customer_callback", "care.birthday", "care.win_back", "care.anniversary", "care.suppressed"
]
_DUE_TYPES: dict[str, FollowupEventType] = {
    "survey": "followup.survey_due",
    "callback": "followup.callback_due",
    "second_followup": "followup.second_followup_due",
}


def _followup_data(followup: ScheduledFollowup, *, now: float, late: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ticket_id": followup.ticket_id,
        "customer_id": followup.customer_id,
        "kind": followup.kind,
        "survey": followup.name,
        "cycle": followup.cycle,
        "via": followup.via,
        "channel": followup.channel,
        "language": followup.language,
        "resolved_at": iso(followup.resolved_at),
        "due_at": iso(followup.due_at),
        "emitted_at": iso(now),
        "late": late,
    }
    if followup.fire_at != followup.due_at:
        data["held_until"] = iso(followup.fire_at)
    if followup.feedback_key is not None:
        data["feedback_id"] = followup.feedback_key
    return data


def _followup_id(followup: ScheduledFollowup, what: str) -> str:
    answer = followup.feedback_key or ""
    return ids.event_id(followup.ticket_id, "followup", followup.kind, followup.cycle, answer, what)


def followup_due(followup: ScheduledFollowup, *, now: float, late: bool) -> dict[str, Any]:
    """followup.survey_due, followup.callback_due or followup.second_followup_due."""
    return cloudevent(
        event_id=_followup_id(followup, "due"),
        source=SOURCE_FOLLOWUPS,
        event_type=_DUE_TYPES[followup.kind],
        time=now,
        subject=followup.ticket_id,
        data=_followup_data(followup, now=now, late=late),
    )


def followup_cancelled(followup: ScheduledFollowup, *, reason: str, detail: str, now: float) -> dict[str, Any]:
    data = _followup_data(followup, now=now, late=False)
    del data["late"]
    data["reason"] = reason
    data["detail"] = detail
    return cloudevent(
        event_id=_followup_id(followup, "cancelled"),
        source=SOURCE_FOLLOWUPS,
        event_type="followup.cancelled",
        time=now,
        subject=followup.ticket_id,
        data=data,
    )


def followup_escalated(
    *,
    ticket_id: str,
    customer_id: str | None,
    feedback_id: str,
    policy: str | None,
    notify: tuple[str, ...],
    reasons: list[str] | tuple[str, ...],
    csat: int | None,
    nps: int | None,
    reopened: bool,
    now: float,
) -> dict[str, Any]:
    """A dissatisfied answer, for the people the ticket's policy names (like sla.escalated)."""
    return cloudevent(
        event_id=ids.event_id(ticket_id, "followup", "escalated", feedback_id),
        source=SOURCE_FOLLOWUPS,
        event_type="followup.escalated",
        time=now,
        subject=ticket_id,
        data={
            "ticket_id": ticket_id,
            "customer_id": customer_id,
            "feedback_id": feedback_id,
            "policy": policy,
            "notify": list(notify),
            "reasons": list(reasons),
            "csat": csat,
            "nps": nps,
            "reopened": reopened,
            "emitted_at": iso(now),
        },
    )


def _care_data(due: CareDue, *, now: float) -> dict[str, Any]:
    return {
        "customer_id": due.customer_id,
        "occasion": due.occasion,
        "occasion_key": due.key,
        "occasion_day": due.day.isoformat(),
        "send_day": due.send_day.isoformat(),
        "tier": due.tier,
        "via": due.via,
        "channel": due.channel,
        "due_at": iso(due.due_at),
        "emitted_at": iso(now),
    }


def care_due(due: CareDue, *, now: float, late: bool) -> dict[str, Any]:
    """care.new_customer_callback, care.birthday, care.win_back or care.anniversary."""
    data = _care_data(due, now=now)
    data["late"] = late
    return cloudevent(
        event_id=ids.event_id(due.customer_id, "care", due.key),
        source=SOURCE_CARE,
        event_type=f"care.{due.occasion}",
        time=now,
        subject=due.customer_id,
        data=data,
    )


def care_suppressed(due: CareDue, *, reason: str, detail: str, now: float) -> dict[str, Any]:
    """A care occasion that will not be sent (cap, budget, profile changed): recorded, never retried."""
    data = _care_data(due, now=now)
    data["reason"] = reason
    data["detail"] = detail
    return cloudevent(
        event_id=ids.event_id(due.customer_id, "care", due.key, "suppressed"),
        source=SOURCE_CARE,
        event_type="care.suppressed",
        time=now,
        subject=due.customer_id,
        data=data,
    )
