from datetime import date

from streams.domain import customers
from streams.models import CustomerProfile

DAY = 86400.0


def record_with(*requests):
    record = None
    for ticket_id, request_type, tokens, at in requests:
        record = customers.remember(
            record, ticket_id=ticket_id, request_type=request_type, tokens=tokens, submitted_at=at, window=3 * DAY
        )
    return record


def test_crm_profile_decides_the_segment_over_the_channels_tier():
    record = customers.apply_profile(None, CustomerProfile(customer_id="C1", tier="vip"))
    assert customers.segment(record, "regular", date(2026, 11, 20), 30) == "vip"


def test_a_customer_for_less_than_thirty_days_is_new():
    record = customers.apply_profile(None, CustomerProfile(customer_id="C1", customer_since=date(2026, 11, 1)))
    assert customers.segment(record, None, date(2026, 11, 20), 30) == "new"
    assert customers.segment(record, None, date(2026, 12, 20), 30) == "regular"


def test_churn_risk_stays_churn_risk_even_when_new():
    record = customers.apply_profile(
        None, CustomerProfile(customer_id="C1", tier="churn_risk", customer_since=date(2026, 11, 18))
    )
    assert customers.segment(record, None, date(2026, 11, 20), 30) == "churn_risk"


def test_without_a_profile_the_channels_tier_or_regular():
    assert customers.segment(None, "vip", date(2026, 11, 20), 30) == "vip"
    assert customers.segment(None, None, date(2026, 11, 20), 30) == "regular"


def test_same_issue_again_within_the_window_is_a_repeat_of_the_latest_ticket():
    tokens = ["快递", "没收到", "包裹"]
    record = record_with(("T1", "after_sales", tokens, 0.0), ("T2", "after_sales", tokens, DAY))
    found = customers.find_repeat(
        record,
        ticket_id="T3",
        request_type="after_sales",
        tokens=["包裹", "没收到", "还"],
        submitted_at=2 * DAY,
        window=3 * DAY,
    )
    assert found == "T2"


def test_the_same_order_number_makes_a_repeat_whatever_the_wording():
    record = record_with(("T1", "after_sales", ["2026051300123", "退货"], 0.0))
    assert (
        customers.find_repeat(
            record,
            ticket_id="T2",
            request_type="after_sales",
            tokens=["2026051300123", "进度", "查询"],
            submitted_at=60.0,
            window=DAY,
        )
        == "T1"
    )


def test_a_different_type_or_an_old_request_is_not_a_repeat():
    record = record_with(("T1", "after_sales", ["快递", "没收到"], 0.0))
    assert (
        customers.find_repeat(
            record, ticket_id="T2", request_type="complaint", tokens=["快递", "没收到"], submitted_at=60.0, window=DAY
        )
        is None
    )
    assert (
        customers.find_repeat(
            record,
            ticket_id="T2",
            request_type="after_sales",
            tokens=["快递", "没收到"],
            submitted_at=2 * DAY,
            window=DAY,
        )
        is None
    )


def test_unrelated_wording_is_not_a_repeat():
    record = record_with(("T1", "inquiry", ["会员", "权益"], 0.0))
    assert (
        customers.find_repeat(
            record, ticket_id="T2", request_type="inquiry", tokens=["营业", "时间"], submitted_at=60.0, window=DAY
        )
        is None
    )


def test_remembering_drops_requests_older_than_the_window_and_keeps_a_bounded_list():
    record = record_with(*[(f"T{n}", "inquiry", ["x"], n * 3600.0) for n in range(40)])
    assert len(record.recent) == customers.RECENT_KEPT
    record = customers.remember(
        record, ticket_id="T99", request_type="inquiry", tokens=["y"], submitted_at=30 * DAY, window=DAY
    )
    assert [item.ticket_id for item in record.recent] == ["T99"]


def test_particles_and_pronouns_do_not_count_as_the_issue():
    assert customers.significant_tokens(["我", "的", "快递", "the", "parcel", "a"]) == ["parcel", "快递"]
