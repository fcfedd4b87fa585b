"""Answers: the feedback record, dissatisfied answers, recovery, rating changes, second follow-ups."""

import pytest
from pydantic import ValidationError

from streams.domain.config_files import bundled_file, load_yaml_model
from streams.domain.followups.feedback import (
    TicketFeedback,
    dissatisfaction,
    feedback_id,
    fire_facts,
    receive_feedback,
    recovery_notify,
    second_followup_done,
)
from streams.domain.followups.surveys import check_at_fire
from streams.domain.policies import PolicyFile
from streams.models import FeedbackSubmission
from tests.domain.followup_helpers import FOLLOWUPS, at, feedback, local, resolved_ticket

POLICIES = load_yaml_model(bundled_file("policies.yaml"), PolicyFile)
UNRESOLVED_WORDS = ("没修好", "not fixed", "still broken")


def judge(comment: str) -> bool:
    return any(word in comment for word in UNRESOLVED_WORDS)


def receive(state, answer, ticket=None, *, now=None, **kwargs):
    ticket = ticket if ticket is not None else resolved_ticket("2026-11-18 10:00")
    now = now if now is not None else answer.answered_at.timestamp()
    return receive_feedback(state, answer, ticket, FOLLOWUPS, judge=judge, now=now, **kwargs)


# --- the record ---------------------------------------------------------------------------


def field_errors(body: dict) -> list[str]:
    with pytest.raises(ValidationError) as error:
        FeedbackSubmission.model_validate(body)
    return [".".join(str(part) for part in item["loc"]) for item in error.value.errors()]


def test_feedback_body_accepts_the_contract_fields():
    body = FeedbackSubmission.model_validate(
        {
            "ticket_id": "TKT-1",
            "csat": 4,
            "nps": 9,
            "comment": "ok",
            "answered_at": "2026-11-18T10:00:00+08:00",
            "channel": "wecom",
        }
    )
    assert (body.csat, body.nps, body.answered_at.isoformat()) == (4, 9, "2026-11-18T02:00:00+00:00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ticket_id": "TKT-1", "csat": 6}, "csat"),
        ({"ticket_id": "TKT-1", "csat": 0}, "csat"),
        ({"ticket_id": "TKT-1", "csat": "5"}, "csat"),
        ({"ticket_id": "TKT-1", "nps": 11}, "nps"),
        ({"ticket_id": "TKT-1", "csat": 3, "channel": "fax"}, "channel"),
        ({"csat": 3}, "ticket_id"),
        ({"ticket_id": "TKT-1", "csat": 3, "mood": "ok"}, "mood"),
    ],
)
def test_bad_feedback_names_the_field(body, field):
    assert field in field_errors(body)


def test_feedback_without_any_answer_is_refused():
    with pytest.raises(ValidationError, match="at least one of csat, nps, satisfied or comment"):
        FeedbackSubmission.model_validate({"ticket_id": "TKT-1", "comment": "  "})


def test_feedback_ids_are_deterministic():
    body = FeedbackSubmission(ticket_id="TKT-1", csat=2, idempotency_key="survey-77")
    assert feedback_id(body, received_at=1.0) == feedback_id(body, received_at=2.0)
    other = FeedbackSubmission(ticket_id="TKT-1", csat=3)
    assert feedback_id(other, received_at=1.0) != feedback_id(other, received_at=2.0)


# --- dissatisfied --------------------------------------------------------------------------


def test_dissatisfied_by_score_flag_or_comment():
    rules = FOLLOWUPS.dissatisfied
    assert dissatisfaction(2, None, None, None, rules) == ["csat 2 <= 2"]
    assert dissatisfaction(3, None, None, None, rules) == []
    assert dissatisfaction(None, None, False, None, rules) == ["answered not satisfied"]
    assert dissatisfaction(5, None, None, "还是没修好", rules, judge) == [
        "the comment says the matter is unresolved or negative"
    ]
    assert dissatisfaction(5, None, None, "还是没修好", rules) == []  # no judge, no verdict
    assert dissatisfaction(None, 3, None, None, rules) == []  # NPS alone counts only when nps_at_most is set
    assert dissatisfaction(None, 3, None, None, rules.model_copy(update={"nps_at_most": 6})) == ["nps 3 <= 6"]


# --- recovery -------------------------------------------------------------------------------


def test_csat_1_reopens_escalates_and_schedules_one_second_followup():
    outcome = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1))
    assert outcome.answer is not None and outcome.answer.dissatisfied
    assert outcome.reopen is not None and outcome.reopen.type == "reopen" and outcome.reopen.automated
    assert outcome.escalate
    second = outcome.schedule
    assert second is not None and second.kind == "second_followup" and second.channel == "phone"
    assert local(second.due_at) == "2026-11-21 10:30"
    assert outcome.state.second_followup == second
    again = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1))
    assert again.reopen.action_id == outcome.reopen.action_id  # a retry collapses on the actions topic


def test_csat_5_brings_nothing():
    outcome = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=5))
    assert (outcome.reopen, outcome.escalate, outcome.schedule) == (None, False, None)
    assert outcome.state.rated_cycles() == frozenset({0})


def test_a_comment_judged_unresolved_recovers_whatever_the_score():
    outcome = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=5, comment="还是没修好"))
    assert outcome.reopen is not None and outcome.schedule is not None


def test_a_redelivered_answer_does_nothing():
    first = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1))
    again = receive(first.state, feedback("FB-1", "2026-11-19 10:30", csat=1))
    assert again.answer is None and again.schedule is None and len(again.state.answers) == 1


def test_feedback_for_an_unknown_ticket_is_kept_and_reported():
    answer = feedback("FB-1", "2026-11-19 10:30", csat=1)
    outcome = receive_feedback(None, answer, None, FOLLOWUPS, now=at("2026-11-19 10:31"))
    assert outcome.unknown_ticket and outcome.answer is not None
    assert outcome.reopen is None and outcome.schedule is None and len(outcome.state.answers) == 1


def test_an_open_ticket_is_not_reopened_but_still_followed_up():
    ticket = resolved_ticket("2026-11-18 10:00", status="open", reopen_count=1)  # the customer wrote again
    outcome = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1), ticket)
    assert outcome.reopen is None and outcome.escalate and outcome.answer.cycle == 0
    assert outcome.schedule is not None


def test_a_better_answer_before_the_second_followup_cancels_it():
    bad = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1))
    reopened = resolved_ticket("2026-11-18 10:00", status="open", reopen_count=1)
    better = receive(bad.state, feedback("FB-2", "2026-11-20 09:00", csat=4), reopened)
    assert better.cancel == bad.schedule and better.state.second_followup is None
    assert better.change == "amends" and better.replaced is None


def test_the_second_followup_checks_the_latest_answer_at_fire_time():
    bad = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1))
    second = bad.schedule
    reopened = resolved_ticket("2026-11-18 10:00", status="open", reopen_count=1)
    facts = fire_facts(reopened, bad.state)
    decision = check_at_fire(second, facts, None, FOLLOWUPS, min_gap_seconds=0, now=second.due_at)
    assert decision.verdict == "fire"  # an open (reopened) ticket does not stop a second follow-up
    better = receive(bad.state, feedback("FB-2", "2026-11-20 09:00", csat=5), reopened)
    facts = fire_facts(reopened, better.state)
    decision = check_at_fire(second, facts, None, FOLLOWUPS, min_gap_seconds=0, now=second.due_at)
    assert (decision.verdict, decision.reason) == ("cancel", "better_answer")
    assert second_followup_done(bad.state, second).second_followup is None


def test_a_second_bad_answer_does_not_schedule_a_second_second_followup():
    bad = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1))
    worse = receive(bad.state, feedback("FB-2", "2026-11-19 12:00", csat=1, comment="not fixed"))
    assert worse.schedule is None and worse.reopen is None and not worse.escalate


def test_bad_again_after_a_cancelled_second_followup_schedules_a_new_one_without_escalating_twice():
    bad = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1))
    better = receive(bad.state, feedback("FB-2", "2026-11-19 12:00", csat=4))
    worse = receive(better.state, feedback("FB-3", "2026-11-19 15:00", csat=1))
    assert worse.schedule is not None and worse.schedule.feedback_key == "FB-3"
    assert worse.schedule.key == bad.schedule.key  # the same cycle's second follow-up ...
    assert not worse.escalate  # ... and the ticket was escalated once for this cycle


# --- rating changes -------------------------------------------------------------------------


def test_a_second_answer_within_the_window_replaces_the_first():
    first = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=1))
    second = receive(first.state, feedback("FB-2", "2026-11-19 10:40", csat=5))
    assert second.change == "replaces" and second.replaced.feedback_id == "FB-1"
    assert [a.counted for a in second.state.answers] == [False, True]
    assert second.cancel is not None  # the slip's second follow-up is cancelled; the reopen stays


def test_a_later_answer_amends_without_replacing_the_kpi():
    first = receive(None, feedback("FB-1", "2026-11-19 10:30", csat=4))
    second = receive(first.state, feedback("FB-2", "2026-11-19 11:30", csat=2))
    assert second.change == "amends" and second.replaced is None
    assert [a.counted for a in second.state.answers] == [True, False]
    assert second.reopen is not None  # the latest answer still drives recovery


def test_answers_are_bounded():
    state = None
    for index in range(30):
        state = receive(state, feedback(f"FB-{index}", "2026-11-19 10:30", csat=5)).state
    assert isinstance(state, TicketFeedback) and len(state.answers) == 20


def test_escalation_notifies_the_first_step_of_the_policys_ladder():
    assert recovery_notify(POLICIES, resolved_ticket("2026-11-18 10:00", policy="routine")) == ("senior_agent",)
    grade_1 = resolved_ticket("2026-11-18 10:00", policy="complaint-grade-1")
    assert recovery_notify(POLICIES, grade_1) == ("complaint_taskforce", "business_owner", "management")
