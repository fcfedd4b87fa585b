"""The follow-up and care stages, driven on in-memory stores, emit only what docs/asyncapi.yaml
declares on `followups`, `care` and `tickets.actions`, valid against its schemas."""

from __future__ import annotations

from datetime import date, timedelta

from streams.contract import EVENT_TYPES
from streams.domain.followups import today_in
from streams.models import CustomerProfile
from tests.contract.test_emitted import _check
from tests.stages.test_followups import RETURNS, T0, Hop


def test_the_wired_stages_emit_declared_events():
    hop = Hop(judge=lambda comment: "没修好" in comment)
    outputs = []
    hop.ticket()  # a complaint: callback after 3 s
    hop.ticket(ticket_id="TKT-2", customer="C-2", status="resolved")
    outputs += hop.tick(T0 + 3)
    hop.now = T0 + 4
    outputs += hop.feedback(csat=1)  # reopen, escalate, second follow-up
    outputs += hop.feedback(csat=1, ticket_id="TKT-2", key="b1")
    outputs += hop.feedback(csat=5, ticket_id="TKT-2", key="b2")  # cancels its second follow-up
    outputs += hop.tick(T0 + 9)
    hop.ticket(ticket_id="TKT-3", customer="C-1")
    outputs += hop.tick(T0 + 12)  # suppressed: the customer was called back 9 s ago
    today = today_in(hop.care.care, hop.now)
    hop.care.days_done[0] = today  # today's run is done: a new profile is looked at at once
    profile = CustomerProfile(
        customer_id="C-9",
        tier="churn_risk",
        birthday=date(1990, today.month, today.day),
        customer_since=today - timedelta(days=3),
    )
    # the callback now, the win-back after the gap, the birthday over the monthly cap (2)
    outputs += hop.care.on_profile(profile.model_dump_json().encode())
    outputs += hop.tick(hop.now + 3) + hop.tick(hop.now + 6)
    seen = {_check(o.topic, o.value, o.headers) for o in outputs if o.topic != RETURNS} - {None}
    topics = {o.topic.removeprefix("t.") for o in outputs}
    assert {"followups", "tickets.actions"} <= topics
    declared = {spec.type for spec in EVENT_TYPES if spec.topic in ("followups", "care")}
    assert (
        {
            "followup.callback_due",
            "followup.second_followup_due",
            "followup.cancelled",
            "followup.escalated",
            "care.new_customer_callback",
            "care.win_back",
            "care.suppressed",
        }
        <= seen
        <= declared
    )
