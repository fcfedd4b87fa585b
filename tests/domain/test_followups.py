"""Surveys and callbacks after resolution: the file, the due moment, quiet hours, fire-time checks."""

from zoneinfo import ZoneInfo

import pytest

from streams.domain.config_files import ConfigFileError, load_yaml_model
from streams.domain.followups.contacts import ContactLog, record_contact
from streams.domain.followups.files import FollowupFile
from streams.domain.followups.surveys import ScheduledFollowup, Skipped, TicketFacts, check_at_fire, held, plan_survey
from tests.domain.followup_helpers import FOLLOWUPS, FOLLOWUPS_DEMO, at, local, profile, resolved_ticket

GAP = 4 * 3600


def planned(ticket, **kwargs) -> ScheduledFollowup:
    plan = plan_survey(ticket, FOLLOWUPS, **kwargs)
    assert isinstance(plan, ScheduledFollowup), plan
    return plan


# --- the file ---------------------------------------------------------------------------


def write(tmp_path, text: str):
    path = tmp_path / "followups.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_file_selects_by_the_sla_policy_filters():
    assert FOLLOWUPS.select({"type": "complaint", "tier": "vip"}).name == "complaint-callback"
    assert FOLLOWUPS.select({"type": "inquiry", "tier": "vip"}).name == "vip-callback"
    assert FOLLOWUPS.select({"type": "inquiry", "tier": "regular"}).name == "default"
    assert FOLLOWUPS.dissatisfied.csat_at_most == 2
    assert FOLLOWUPS.dissatisfied.second_followup_after.seconds == 48 * 3600


def test_an_unknown_via_is_named_with_its_key(tmp_path):
    path = write(tmp_path, "surveys:\n  - {name: d, match: {}, after_resolution: 1d, via: pigeon}\n")
    with pytest.raises(ConfigFileError) as error:
        load_yaml_model(path, FollowupFile)
    assert "surveys.0.via" in str(error.value) and "pigeon" in str(error.value)


def test_an_unknown_match_value_is_refused_like_in_the_policy_file(tmp_path):
    path = write(
        tmp_path,
        "surveys:\n  - {name: d, match: {type: praise}, after_resolution: 1d}\n"
        "  - {name: e, match: {}, after_resolution: 1d}\n",
    )
    with pytest.raises(ConfigFileError) as error:
        load_yaml_model(path, FollowupFile)
    assert "surveys.0.match.type" in str(error.value)


def test_the_last_survey_must_match_every_ticket(tmp_path):
    path = write(tmp_path, "surveys:\n  - {name: c, match: {type: complaint}, after_resolution: 1d}\n")
    with pytest.raises(ConfigFileError, match="must match every ticket"):
        load_yaml_model(path, FollowupFile)


def test_working_days_need_a_calendar(tmp_path):
    path = write(tmp_path, "surveys:\n  - {name: d, match: {}, after_resolution: 2 working days}\n")
    with pytest.raises(ConfigFileError, match="needs a calendar"):
        load_yaml_model(path, FollowupFile)


def test_bad_quiet_hours_name_the_key(tmp_path):
    path = write(
        tmp_path,
        "quiet_hours: {start: '25:00', end: '08:00'}\nsurveys:\n  - {name: d, match: {}, after_resolution: 1d}\n",
    )
    with pytest.raises(ConfigFileError) as error:
        load_yaml_model(path, FollowupFile)
    assert "quiet_hours.start" in str(error.value)


# --- the due moment -----------------------------------------------------------------------


def test_default_survey_is_due_a_day_later_on_the_preferred_channel():
    plan = planned(resolved_ticket("2026-11-18 10:15"), profile=profile(preferred_channel="wecom"), language="zh")
    assert (plan.kind, plan.name, plan.channel, plan.language) == ("survey", "default", "wecom", "zh")
    assert local(plan.due_at) == "2026-11-19 10:15"
    assert plan.fire_at == plan.due_at
    assert plan.key == "TKT-1:survey:0"


def test_without_a_preferred_channel_the_request_channel_is_used():
    assert planned(resolved_ticket("2026-11-18 10:15", channel="email")).channel == "email"


def test_complaint_callback_one_working_day_across_national_day():
    # Wednesday 30 September 2026 is the last working day before the 1-7 October holiday.
    plan = planned(resolved_ticket("2026-09-30 17:00", type="complaint"))
    assert (plan.kind, plan.channel) == ("callback", "phone")
    assert local(plan.due_at) == "2026-10-08 17:00"


def test_callback_counts_the_sunday_worked_in_lieu():
    # Friday 18 September 2026; Sunday 20 September is a working day (调休).
    plan = planned(resolved_ticket("2026-09-18 17:00", type="complaint"))
    assert local(plan.due_at) == "2026-09-20 17:00"


def test_callback_over_a_plain_weekend():
    plan = planned(resolved_ticket("2026-11-20 16:00", segment="vip"))
    assert plan.name == "vip-callback"
    assert local(plan.due_at) == "2026-11-23 16:00"  # 2 h on Friday, 5.5 h on Monday


def test_a_due_moment_in_quiet_hours_waits_for_their_end():
    plan = planned(resolved_ticket("2026-11-18 22:30"))
    assert local(plan.due_at) == "2026-11-19 22:30"
    assert local(plan.fire_at) == "2026-11-20 09:00"


def test_quiet_hours_are_the_customers_local_hours():
    london = ZoneInfo("Europe/London")
    plan = planned(resolved_ticket("2026-11-18 16:00"), zone_name="Europe/London")  # 08:00 in London
    assert local(plan.fire_at, london) == "2026-11-19 09:00"
    assert local(plan.fire_at) == "2026-11-19 17:00"


def test_an_unknown_zone_falls_back_to_the_business_zone():
    plan = planned(resolved_ticket("2026-11-18 22:30"), zone_name="Mars/Olympus")
    assert local(plan.fire_at) == "2026-11-20 09:00"


def test_a_reopened_and_resolved_ticket_is_a_new_cycle():
    plan = planned(resolved_ticket("2026-11-18 10:00", reopen_count=1))
    assert plan.cycle == 1 and plan.key == "TKT-1:survey:1"


# --- never surveyed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "kwargs", "reason"),
    [
        ({}, {"repeat_of": "TKT-0"}, "duplicate"),
        ({"promoted_replies": ["TKT-9"]}, {}, "promoted_reply_parent"),
        (
            {"status": "closed", "first_response_at": None, "resolved_at": None, "closed_at": 1.8e9},
            {},
            "closed_without_reply",
        ),
        ({"status": "open"}, {}, "not_resolved"),
        ({"customer_id": None}, {}, "no_customer"),
    ],
)
def test_never_surveyed(changes, kwargs, reason):
    plan = plan_survey(resolved_ticket("2026-11-18 10:00", **changes), FOLLOWUPS, **kwargs)
    assert isinstance(plan, Skipped) and plan.reason == reason


def test_closed_after_a_reply_without_resolution_is_surveyed_from_the_close():
    ticket = resolved_ticket("2026-11-18 10:00", status="closed", resolved_at=None, closed_at=at("2026-11-18 11:00"))
    assert local(planned(ticket).due_at) == "2026-11-19 11:00"


# --- at fire time ----------------------------------------------------------------------------


def fire(plan, ticket=None, contacts=None, *, now, **facts):
    ticket = ticket or resolved_ticket("2026-11-18 10:15")
    return check_at_fire(plan, TicketFacts.of(ticket, **facts), contacts, FOLLOWUPS, min_gap_seconds=GAP, now=now)


def test_fires_on_time_when_nothing_changed():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    decision = fire(plan, now=plan.due_at + 0.2)
    assert (decision.verdict, decision.late) == ("fire", False)


def test_fired_after_a_restart_is_marked_late():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    decision = fire(plan, now=plan.due_at + 120)
    assert (decision.verdict, decision.late) == ("fire", True)


def test_reopened_ticket_cancels_the_survey():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    decision = fire(plan, resolved_ticket("2026-11-18 10:15", status="open", reopen_count=1), now=plan.due_at)
    assert (decision.verdict, decision.reason) == ("cancel", "not_resolved")


def test_reopened_and_resolved_again_cancels_the_old_cycles_survey():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    decision = fire(plan, resolved_ticket("2026-11-18 12:00", reopen_count=1), now=plan.due_at)
    assert (decision.verdict, decision.reason) == ("cancel", "reopened")


def test_already_rated_cancels():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    decision = fire(plan, rated_cycles=frozenset({0}), now=plan.due_at)
    assert (decision.verdict, decision.reason) == ("cancel", "already_rated")


def test_closed_after_resolution_still_fires():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    ticket = resolved_ticket("2026-11-18 10:15", status="closed", closed_at=at("2026-11-18 12:00"))
    assert fire(plan, ticket, now=plan.due_at).verdict == "fire"


def test_a_customer_surveyed_within_the_window_is_not_surveyed_again():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    contacts = record_contact(None, at=at("2026-11-14 10:00"), kind="survey", key="TKT-0:survey:0")
    decision = fire(plan, contacts=contacts, now=plan.due_at)
    assert (decision.verdict, decision.reason) == ("cancel", "suppressed")
    older = record_contact(None, at=at("2026-11-11 10:00"), kind="survey", key="TKT-0:survey:0")
    assert fire(plan, contacts=older, now=plan.due_at).verdict == "fire"


def test_its_own_earlier_contact_does_not_suppress_it():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    contacts = record_contact(None, at=at("2026-11-14 10:00"), kind="survey", key=plan.key)
    assert fire(plan, contacts=contacts, now=plan.due_at).reason != "suppressed"


def test_a_recent_care_message_holds_the_survey_for_the_contact_gap():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    contacts = record_contact(None, at=at("2026-11-19 09:30"), kind="care", key="birthday:2026")
    decision = fire(plan, contacts=contacts, now=plan.due_at)
    assert (decision.verdict, decision.reason, local(decision.at)) == ("hold", "contact_gap", "2026-11-19 13:30")
    again = held(plan, decision)
    assert again.key == plan.key and again.due_at == plan.due_at and again.holds == 1
    assert fire(again, contacts=contacts, now=again.fire_at).verdict == "fire"


def test_a_gap_ending_in_quiet_hours_waits_for_the_morning():
    plan = planned(resolved_ticket("2026-11-18 19:00"))
    contacts = record_contact(None, at=at("2026-11-19 18:00"), kind="care", key="birthday:2026")
    decision = fire(plan, contacts=contacts, now=plan.due_at)
    assert (decision.verdict, local(decision.at)) == ("hold", "2026-11-20 09:00")


def test_quiet_hours_at_fire_time_hold_a_late_follow_up():
    plan = planned(resolved_ticket("2026-11-18 20:00"))
    decision = fire(plan, now=at("2026-11-19 23:00"))  # a restart brought it back at night
    assert (decision.verdict, decision.reason, local(decision.at)) == ("hold", "quiet_hours", "2026-11-20 09:00")


def test_held_too_long_expires():
    plan = planned(resolved_ticket("2026-11-18 10:15"))
    decision = fire(plan, now=plan.due_at + 4 * 86400)
    assert (decision.verdict, decision.reason) == ("cancel", "expired")


def test_demo_file_is_seconds_scale_and_has_no_quiet_hours():
    plan = plan_survey(resolved_ticket("2026-11-18 23:00"), FOLLOWUPS_DEMO)
    assert isinstance(plan, ScheduledFollowup)
    assert plan.due_at - at("2026-11-18 23:00") == 2.0 and plan.fire_at == plan.due_at


def test_contact_log_stays_bounded():
    log = None
    for index in range(200):
        log = record_contact(log, at=at("2026-11-18 10:00") + index * 3600, kind="care", key=f"k{index}")
    assert isinstance(log, ContactLog) and len(log.contacts) == 64
