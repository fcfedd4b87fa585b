"""Customer care: occasions and their keys, holidays, caps, the shared budget, the day buckets."""

from datetime import date

import pytest

from streams.domain.config_files import ConfigFileError, load_yaml_model
from streams.domain.followups.care import (
    CareCalendar,
    CareDue,
    check_care,
    days_sending_on,
    marks_of,
    occasion_key,
    occasions_on,
    tier_of,
)
from streams.domain.followups.contacts import record_contact, record_occasion_skipped
from streams.domain.followups.files import CareFile
from tests.domain.followup_helpers import CARE, CARE_DEMO, at, day, local, profile


def kinds(due: list[CareDue]) -> list[tuple[str, str]]:
    return [(item.occasion, item.key) for item in due]


# --- the file ---------------------------------------------------------------------------


def test_default_caps_follow_the_tiers():
    assert (CARE.cap("vip"), CARE.cap("new"), CARE.cap("regular")) == (2, 1, 2)
    assert CARE.contact_budget.min_gap.seconds == 4 * 3600


def test_caps_need_a_default_and_known_tiers(tmp_path):
    path = tmp_path / "care.yaml"
    path.write_text("caps: {gold: 3, default: 2}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_yaml_model(path, CareFile)
    assert "caps" in str(error.value) and "gold" in str(error.value)
    path.write_text("caps: {vip: 2}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="default"):
        load_yaml_model(path, CareFile)


def test_unknown_occasion_setting_is_named(tmp_path):
    path = tmp_path / "care.yaml"
    path.write_text("occasions: {birthday: {on_holiday: postpone}}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_yaml_model(path, CareFile)
    assert "occasions.birthday.on_holiday" in str(error.value)


# --- occasions and keys ----------------------------------------------------------------------


def test_occasion_keys():
    assert occasion_key("birthday", date(2027, 3, 4)) == "birthday:2027"
    assert occasion_key("anniversary", date(2027, 3, 4)) == "anniversary:2027"
    assert occasion_key("new_customer_callback", date(2027, 3, 4)) == "new_customer_callback"
    assert occasion_key("win_back", date(2027, 5, 4)) == "win_back:2027-Q2"
    assert occasion_key("win_back", date(2027, 5, 4), period="month") == "win_back:2027-05"


def test_birthday_greeting_on_the_day_at_send_time():
    customer = profile(birthday=date(1990, 11, 19), preferred_channel="wecom")
    due = occasions_on(customer, day("2026-11-19"), CARE)
    assert kinds(due) == [("birthday", "birthday:2026")]
    assert (due[0].channel, local(due[0].due_at)) == ("wecom", "2026-11-19 10:00")
    assert occasions_on(customer, day("2026-11-18"), CARE) == []


def test_a_birthday_on_national_day_is_sent_on_the_day():
    assert kinds(occasions_on(profile(birthday=date(1990, 10, 1)), day("2026-10-01"), CARE)) == [
        ("birthday", "birthday:2026")
    ]


def test_29_february_birthdays_fall_on_28_february_in_other_years():
    customer = profile(birthday=date(2000, 2, 29))
    assert kinds(occasions_on(customer, day("2027-02-28"), CARE)) == [("birthday", "birthday:2027")]
    assert kinds(occasions_on(customer, day("2028-02-29"), CARE)) == [("birthday", "birthday:2028")]
    assert occasions_on(customer, day("2028-02-28"), CARE) == []


def test_anniversary_from_the_first_year_after_the_purchase():
    customer = profile(first_purchase=date(2026, 6, 2))
    assert occasions_on(customer, day("2026-06-02"), CARE) == []
    assert kinds(occasions_on(customer, day("2027-06-02"), CARE)) == [("anniversary", "anniversary:2027")]


def test_new_customer_callback_on_day_3():
    customer = profile(customer_since=date(2026, 11, 16))
    due = occasions_on(customer, day("2026-11-19"), CARE)
    assert kinds(due) == [("new_customer_callback", "new_customer_callback")]
    assert (due[0].channel, due[0].tier) == ("phone", "new")


def test_new_customer_callback_on_a_holiday_moves_to_the_next_working_day():
    customer = profile(customer_since=date(2026, 9, 30))  # day 3 is 3 October, National Day holiday
    assert occasions_on(customer, day("2026-10-03"), CARE) == []
    due = occasions_on(customer, day("2026-10-08"), CARE)
    assert kinds(due) == [("new_customer_callback", "new_customer_callback")]
    assert due[0].day == date(2026, 10, 3) and due[0].send_day == date(2026, 10, 8)


def test_a_moved_callback_lands_on_a_saturday_worked_in_lieu():
    customer = profile(customer_since=date(2026, 10, 8))  # day 3 is Sunday 11 October, off
    assert kinds(occasions_on(customer, day("2026-10-12"), CARE)) == [
        ("new_customer_callback", "new_customer_callback")
    ]
    worked_saturday = profile(customer_since=date(2026, 10, 7))  # day 3 is Saturday 10 October, worked (调休)
    assert kinds(occasions_on(worked_saturday, day("2026-10-10"), CARE)) == [
        ("new_customer_callback", "new_customer_callback")
    ]


def test_win_back_for_churn_risk_once_per_quarter():
    customer = profile(tier="churn_risk")
    assert kinds(occasions_on(customer, day("2026-11-18"), CARE)) == [("win_back", "win_back:2026-Q4")]
    assert occasions_on(profile(tier="regular"), day("2026-11-18"), CARE) == []
    assert occasions_on(customer, day("2026-11-21"), CARE) == []  # a Saturday: it waits for Monday


def test_several_occasions_on_one_day_come_in_priority_order():
    customer = profile(tier="churn_risk", birthday=date(1990, 11, 18), first_purchase=date(2020, 11, 18))
    assert [item.occasion for item in occasions_on(customer, day("2026-11-18"), CARE)] == [
        "win_back",
        "birthday",
        "anniversary",
    ]


def test_tiers_for_caps():
    assert tier_of(profile(tier="vip"), day("2026-11-18"), CARE) == "vip"
    assert tier_of(profile(customer_since=date(2026, 11, 1)), day("2026-11-18"), CARE) == "new"
    assert tier_of(profile(customer_since=date(2026, 1, 1)), day("2026-11-18"), CARE) == "regular"


# --- at fire time ----------------------------------------------------------------------------


def birthday_due(customer, on: str) -> CareDue:
    (due,) = occasions_on(customer, day(on), CARE)
    return due


def test_fires_once_per_occasion_key():
    customer = profile(birthday=date(1990, 11, 19))
    due = birthday_due(customer, "2026-11-19")
    first = check_care(due, customer, None, CARE, now=due.due_at + 0.3)
    assert (first.verdict, first.late) == ("fire", False)
    log = record_contact(None, at=due.due_at, kind="care", key=due.key)
    again = check_care(due, customer, log, CARE, now=due.due_at + 60)
    assert (again.verdict, again.reason) == ("suppress", "already_sent")
    next_year = birthday_due(customer, "2027-11-19")
    assert next_year.key == "birthday:2027"
    assert check_care(next_year, customer, log, CARE, now=next_year.due_at).verdict == "fire"


def test_a_suppressed_occasion_is_never_retried():
    customer = profile(birthday=date(1990, 11, 19))
    due = birthday_due(customer, "2026-11-19")
    log = record_occasion_skipped(None, at=due.due_at, key=due.key)
    assert check_care(due, customer, log, CARE, now=due.due_at).reason == "already_sent"
    assert log.contacts == []  # a suppressed message is no contact


def test_vip_at_most_twice_a_month():
    customer = profile(tier="vip", birthday=date(1990, 11, 19))
    due = birthday_due(customer, "2026-11-19")
    log = record_contact(None, at=at("2026-11-02 10:00"), kind="care", key="anniversary:2026")
    assert check_care(due, customer, log, CARE, now=due.due_at).verdict == "fire"
    log = record_contact(log, at=at("2026-11-10 10:00"), kind="care", key="win_back:2026-Q4")
    decision = check_care(due, customer, log, CARE, now=due.due_at)
    assert (decision.verdict, decision.reason) == ("suppress", "monthly_cap")


def test_caps_count_the_calendar_month_in_the_business_zone():
    customer = profile(tier="vip", birthday=date(1990, 12, 1))
    due = birthday_due(customer, "2026-12-01")
    log = record_contact(None, at=at("2026-11-20 10:00"), kind="care", key="a")
    log = record_contact(log, at=at("2026-11-30 10:00"), kind="care", key="b")
    assert check_care(due, customer, log, CARE, now=due.due_at).verdict == "fire"


def test_new_customers_once_a_month_and_surveys_do_not_count_against_the_cap():
    customer = profile(customer_since=date(2026, 11, 16), birthday=date(1990, 11, 25))
    due = birthday_due(customer, "2026-11-25")
    surveyed = record_contact(None, at=at("2026-11-20 10:00"), kind="survey", key="TKT-1:survey:0")
    assert check_care(due, customer, surveyed, CARE, now=due.due_at).verdict == "fire"
    called = record_contact(surveyed, at=at("2026-11-19 10:00"), kind="care", key="new_customer_callback")
    assert check_care(due, customer, called, CARE, now=due.due_at).reason == "monthly_cap"


def test_a_burst_of_occasions_respects_the_cap():
    # Three occasions on one day, each delivered over and over (100 in all), two seconds' gap apart.
    customer = profile(tier="churn_risk", birthday=date(1990, 11, 18), first_purchase=date(2020, 11, 18))
    occasions = occasions_on(customer, day("2026-11-18"), CARE_DEMO)
    assert [item.key for item in occasions] == ["win_back:2026-11", "birthday:2026", "anniversary:2026"]
    log, sent, reasons = None, [], set()
    for index in range(100):
        due, now = occasions[index % 3], occasions[0].due_at + index * 3
        decision = check_care(due, customer, log, CARE_DEMO, now=now)
        if decision.verdict == "fire":
            sent.append(due.key)
            log = record_contact(log, at=now, kind="care", key=due.key)
        else:
            reasons.add(decision.reason)
            log = record_occasion_skipped(log, at=now, key=due.key)
    assert sent == ["win_back:2026-11", "birthday:2026"]  # the default cap is two a month
    assert reasons == {"monthly_cap", "already_sent"}


def test_a_survey_just_sent_holds_the_greeting_for_the_contact_gap():
    customer = profile(birthday=date(1990, 11, 19))
    due = birthday_due(customer, "2026-11-19")
    log = record_contact(None, at=at("2026-11-19 09:30"), kind="survey", key="TKT-1:survey:0")
    decision = check_care(due, customer, log, CARE, now=due.due_at)
    assert (decision.verdict, decision.reason, local(decision.at)) == ("hold", "contact_gap", "2026-11-19 13:30")


def test_quiet_hours_hold_care_in_the_customers_zone():
    customer = profile(birthday=date(1990, 11, 19))
    due = birthday_due(customer, "2026-11-19")  # 10:00 in Shanghai is 02:00 in London
    decision = check_care(due, customer, None, CARE, now=due.due_at, zone_name="Europe/London")
    assert (decision.verdict, decision.reason, local(decision.at)) == ("hold", "quiet_hours", "2026-11-19 17:00")


def test_a_message_that_cannot_go_out_within_a_day_is_suppressed():
    customer = profile(birthday=date(1990, 11, 19))
    due = birthday_due(customer, "2026-11-19")
    decision = check_care(due, customer, None, CARE, now=due.due_at + 2 * 86400)
    assert (decision.verdict, decision.reason, decision.late) == ("suppress", "contact_budget", True)


def test_a_changed_profile_is_rechecked_at_fire_time():
    customer = profile(birthday=date(1990, 11, 19))
    due = birthday_due(customer, "2026-11-19")
    corrected = profile(birthday=date(1990, 12, 19))
    assert check_care(due, corrected, None, CARE, now=due.due_at).reason == "not_eligible"
    assert check_care(due, None, None, CARE, now=due.due_at).reason == "not_eligible"


# --- the day buckets -------------------------------------------------------------------------


def test_the_calendar_finds_a_days_customers_without_scanning():
    calendar = CareCalendar()
    today = day("2026-11-18")
    alice = profile(customer_id="C-A", birthday=date(1990, 11, 19), first_purchase=date(2020, 3, 5))
    bob = profile(customer_id="C-B", birthday=date(1985, 3, 5))
    carol = profile(customer_id="C-C", customer_since=date(2026, 11, 16))
    for customer in (alice, bob, carol):
        calendar.place(customer.customer_id, marks_of(customer, CARE, today))
    assert len(calendar) == 4
    assert calendar.on_day(day("2026-11-19")) == {"C-A", "C-C"}
    assert calendar.on_day(day("2027-03-05")) == {"C-A", "C-B"}
    assert calendar.on_day(day("2026-11-20")) == set()


def test_a_changed_profile_moves_between_buckets():
    calendar = CareCalendar()
    today = day("2026-11-18")
    before = profile(birthday=date(1990, 11, 19))
    after = profile(birthday=date(1990, 12, 19))
    calendar.place("C-1", marks_of(before, CARE, today))
    calendar.move("C-1", marks_of(before, CARE, today), marks_of(after, CARE, today))
    assert calendar.on_day(day("2026-11-19")) == set() and calendar.on_day(day("2026-12-19")) == {"C-1"}
    assert len(calendar) == 1


def test_29_february_customers_are_found_on_28_february_in_other_years():
    calendar = CareCalendar()
    calendar.place("C-1", marks_of(profile(birthday=date(2000, 2, 29)), CARE, day("2026-11-18")))
    assert calendar.on_day(day("2027-02-28")) == {"C-1"}
    assert calendar.on_day(day("2028-02-28")) == set() and calendar.on_day(day("2028-02-29")) == {"C-1"}


def test_the_first_working_day_after_national_day_collects_the_holidays():
    assert days_sending_on(day("2026-10-08"), CARE) == [day("2026-10-0" + str(n)) for n in (8, 7, 6, 5, 4, 3, 2, 1)]
    assert days_sending_on(day("2026-10-03"), CARE) == [day("2026-10-03")]
    calendar = CareCalendar()
    customer = profile(customer_since=date(2026, 9, 30))
    calendar.place("C-1", marks_of(customer, CARE, day("2026-09-30")))
    assert "C-1" in calendar.sending_on(day("2026-10-08"), CARE)


def test_win_back_customers_come_back_at_the_start_of_each_period():
    calendar = CareCalendar()
    customer = profile(tier="churn_risk")
    calendar.place("C-1", marks_of(customer, CARE, day("2026-11-18")))
    assert "C-1" in calendar.on_day(day("2026-11-18"))
    assert "C-1" in calendar.on_day(day("2027-01-01")) and "C-1" in calendar.on_day(day("2027-04-01"))
    assert "C-1" not in calendar.on_day(day("2027-02-01"))
    # 1 October 2026 is National Day: the fourth quarter's win-back goes out on 8 October.
    assert "C-1" in calendar.sending_on(day("2026-10-08"), CARE)
    assert occasions_on(customer, day("2026-10-01"), CARE) == []
    assert kinds(occasions_on(customer, day("2026-10-08"), CARE)) == [("win_back", "win_back:2026-Q4")]
    assert kinds(occasions_on(customer, day("2027-04-01"), CARE)) == [("win_back", "win_back:2027-Q2")]


def test_old_one_off_buckets_are_pruned():
    calendar = CareCalendar()
    calendar.place("C-1", marks_of(profile(customer_since=date(2026, 11, 1)), CARE, day("2026-11-01")))
    calendar.place("C-2", marks_of(profile(customer_since=date(2026, 11, 20)), CARE, day("2026-11-20")))
    assert calendar.prune(day("2026-11-10")) == 1
    assert len(calendar) == 1 and calendar.on_day(day("2026-11-23")) == {"C-2"}
