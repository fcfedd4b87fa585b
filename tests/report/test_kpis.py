import pytest

from streams.report import kpis
from streams.report.facts import TicketFacts
from streams.report.review import pareto


def ticket(n: int, *, channel: str = "phone", kind: str = "inquiry", repeat: bool = False) -> TicketFacts:
    return TicketFacts(f"t{n}", 0, 1000.0, channel, kind, "normal", None, (), repeat)


def test_rates_over_hand_made_tickets() -> None:
    a, b, c, d = (
        ticket(1),
        ticket(2),
        ticket(3, kind="complaint", repeat=True),
        ticket(4, channel="app", kind="complaint"),
    )
    a.first_response_at, a.first_response_elapsed, a.first_response_within = 1300.0, 300.0, True  # 5 min
    a.resolved_at, a.resolution_elapsed, a.resolution_within, a.resolutions = 5000.0, 4000.0, True, 1
    b.first_response_at, b.first_response_elapsed, b.first_response_within = 2800.0, 1800.0, False  # 30 min, late
    b.breaches = {("first_response", 1): [2000.0, 2800.0]}
    b.escalation_level = 1
    c.resolved_at, c.resolution_elapsed, c.resolution_within, c.resolutions = 3000.0, 2000.0, True, 2
    c.reopened = 1
    c.csat, c.nps = 5, 10
    a.csat, a.nps = 2, 3
    d.breaches = {("first_response", 1): [1500.0, None]}  # never answered: counts against compliance
    values = kpis.compute([a, b, c, d])
    assert values["requests"] == 4
    assert values["resolution_rate"] == 0.5
    assert values["complaint_rate"] == 0.5
    assert values["complaint_resolution_rate"] == 0.5
    assert values["repeat_complaint_rate"] == 0.5
    assert values["repeat_inquiry_rate"] == 0.25
    assert values["first_response_compliance"] == pytest.approx(1 / 3)  # a in time; b late; d breached, open
    assert values["first_response_mean"] == pytest.approx(1050.0)
    assert values["breach_rate"] == 0.5
    assert values["escalation_rate"] == 0.25
    assert values["reopen_rate"] == 0.5
    assert values["csat"] == 0.5
    assert values["csat_mean"] == 3.5
    assert values["nps"] == 0.0  # one promoter, one detractor
    assert values["hotline_answered_10min"] == pytest.approx(1 / 3)  # a; b took 30 min; c never responded
    assert values["app_replied_30min"] == 0.0
    assert values["answer_rate_min"] == 0.0  # the app ticket was neither answered nor resolved


def test_empty_feedback_leaves_satisfaction_unknown() -> None:
    values = kpis.compute([ticket(1), ticket(2)])
    assert values["csat"] is None and values["nps"] is None and values["csat_by_type_min"] is None
    assert kpis.compute([])["resolution_rate"] is None


def test_pareto_marks_the_vital_few_up_to_80_percent() -> None:
    rows = pareto({"a": 50, "b": 25, "c": 15, "d": 10})
    assert [r["label"] for r in rows] == ["a", "b", "c", "d"]
    assert [r["vital"] for r in rows] == [True, True, True, False]  # c starts at 75 %, before the line
    assert rows[-1]["cumulative"] == pytest.approx(1.0)
    assert pareto({}) == []
