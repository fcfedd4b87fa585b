"""CloudEvents on `followups` and `care`: types, keys, data and deterministic ids."""

from datetime import date

from streams.domain.followups.care import occasions_on
from streams.domain.followups.events import (
    care_due,
    care_suppressed,
    followup_cancelled,
    followup_due,
    followup_escalated,
)
from streams.domain.followups.feedback import receive_feedback
from streams.domain.followups.surveys import ScheduledFollowup, plan_survey
from tests.domain.followup_helpers import CARE, FOLLOWUPS, at, day, feedback, profile, resolved_ticket


def survey() -> ScheduledFollowup:
    plan = plan_survey(
        resolved_ticket("2026-11-18 22:30"), FOLLOWUPS, profile=profile(preferred_channel="app"), language="zh"
    )
    assert isinstance(plan, ScheduledFollowup)
    return plan


def test_survey_due_event():
    plan = survey()
    event = followup_due(plan, now=plan.fire_at + 0.4, late=False)
    assert (event["type"], event["subject"]) == ("followup.survey_due", "TKT-1")
    assert event["source"] == "/ticketflow/followups"
    data = event["data"]
    assert data["ticket_id"] == "TKT-1" and data["customer_id"] == "C-1"
    assert (data["channel"], data["language"], data["survey"], data["late"]) == ("app", "zh", "default", False)
    assert data["due_at"] == "2026-11-19T14:30:00.000Z"
    assert data["held_until"] == "2026-11-20T01:00:00.000Z"  # 09:00 in Shanghai, after the quiet hours
    assert followup_due(plan, now=plan.fire_at + 9, late=True)["id"] == event["id"]


def test_callback_and_cancelled_events_have_their_own_ids():
    plan = plan_survey(resolved_ticket("2026-11-18 10:00", type="complaint"), FOLLOWUPS)
    due = followup_due(plan, now=plan.due_at, late=False)
    cancelled = followup_cancelled(plan, reason="reopened", detail="the ticket was reopened", now=plan.due_at)
    assert due["type"] == "followup.callback_due" and due["data"]["channel"] == "phone"
    assert cancelled["type"] == "followup.cancelled" and cancelled["data"]["reason"] == "reopened"
    assert "late" not in cancelled["data"] and cancelled["id"] != due["id"]


def test_second_followup_events_differ_per_answer():
    ticket = resolved_ticket("2026-11-18 10:00")
    first = receive_feedback(
        None, feedback("FB-1", "2026-11-19 10:00", csat=1), ticket, FOLLOWUPS, now=at("2026-11-19 10:00")
    ).schedule
    second = first.model_copy(update={"feedback_key": "FB-3"})
    one, other = followup_due(first, now=first.due_at, late=False), followup_due(second, now=first.due_at, late=False)
    assert one["type"] == "followup.second_followup_due" and one["data"]["feedback_id"] == "FB-1"
    assert one["id"] != other["id"]


def test_escalated_event_names_who_to_notify():
    event = followup_escalated(
        ticket_id="TKT-1",
        customer_id="C-1",
        feedback_id="FB-1",
        policy="routine",
        notify=("senior_agent",),
        reasons=["csat 1 <= 2"],
        csat=1,
        nps=None,
        reopened=True,
        now=at("2026-11-19 10:00"),
    )
    assert event["type"] == "followup.escalated" and event["data"]["notify"] == ["senior_agent"]


def test_care_events_are_keyed_by_customer_and_occasion():
    (due,) = occasions_on(profile(birthday=date(1990, 11, 19), preferred_channel="wecom"), day("2026-11-19"), CARE)
    event = care_due(due, now=due.due_at + 0.2, late=False)
    assert (event["type"], event["subject"]) == ("care.birthday", "C-1")
    assert event["data"]["occasion_key"] == "birthday:2026" and event["data"]["channel"] == "wecom"
    assert care_due(due, now=due.due_at + 30, late=True)["id"] == event["id"]
    suppressed = care_suppressed(due, reason="monthly_cap", detail="2 of 2", now=due.due_at)
    assert suppressed["type"] == "care.suppressed" and suppressed["id"] != event["id"]
