"""A ticket's clocks: opening, actions, pauses, escalation, repairs, what falls due."""

from __future__ import annotations

from streams.domain import tickets
from streams.domain.policies import PolicyFile
from streams.models import (
    TicketAction,
)
from tests.domain.tickets.helpers import (
    SUBMITTED,
    T,
    act,
    action,
    classified,
    kinds,
    open_one,
)


def test_opening_routes_and_activates_its_clocks(routing, short_policies):
    outcome = open_one(routing, short_policies, request_type="after_sales")
    assert [copy.department for copy in outcome.routed] == ["after_sales"]
    assert kinds(outcome) == [
        ("activated", "first_response", 0),
        ("activated", "progress_update", 0),
        ("activated", "resolution", 0),
    ]
    assert outcome.state.clocks["first_response"].due_at == T + 100


def test_clock_starts_at_the_customers_submit_time_not_processing_time(routing, short_policies):
    outcome = open_one(routing, short_policies, now=T + 80)
    assert outcome.state.clocks["first_response"].started_at == T
    assert ("warning", "first_response", 50) in kinds(outcome)  # 50 s point already passed on arrival


def test_copies_go_to_cc_departments(routing, short_policies):
    outcome = open_one(routing, short_policies, request_type="complaint", grade=3, aspects=["service"])
    assert [(copy.department, copy.role) for copy in outcome.routed] == [
        ("cs_supervisor", "owner"),
        ("operations", "cc"),
    ]


def test_repeated_request_is_a_duplicate_and_changes_nothing(routing, short_policies):
    state = open_one(routing, short_policies).state
    again = tickets.open_ticket(state, classified(), routing=routing, policies=short_policies, now=T + 5)
    assert again.duplicate and again.state is None and again.routed == []


def test_human_reply_stops_first_response(routing, short_policies):
    state = open_one(routing, short_policies).state
    outcome = act(state, short_policies, "reply", 30)
    assert ("fulfilled", "first_response", 0) in kinds(outcome)
    assert outcome.state.first_response_at == T + 30


def test_automated_acknowledgement_does_not_stop_first_response(routing, short_policies):
    state = open_one(routing, short_policies).state
    outcome = act(state, short_policies, "reply", 5, automated=True)
    assert kinds(outcome) == [] and outcome.state.clocks["first_response"].stopped_at is None


def test_customer_message_after_a_reply_starts_a_next_response_cycle(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "reply", 10).state
    outcome = act(state, short_policies, "customer_reply", 20)
    assert ("activated", "next_response", 0) in kinds(outcome)
    clock = outcome.state.clocks["next_response"]
    assert (clock.cycle, clock.started_at, clock.due_at) == (1, T + 20, T + 80)


def test_a_second_customer_message_does_not_restart_the_running_reply_cycle(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "reply", 10).state
    state = act(state, short_policies, "customer_reply", 20).state
    outcome = act(state, short_policies, "customer_reply", 30)
    assert outcome.state.clocks["next_response"].started_at == T + 20 and kinds(outcome) == []


def test_each_reply_cycle_is_numbered_and_stopped_by_the_next_reply(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "reply", 10).state
    state = act(state, short_policies, "customer_reply", 20).state
    state = act(state, short_policies, "reply", 50).state
    outcome = act(state, short_policies, "customer_reply", 70)
    assert outcome.state.clocks["next_response"].cycle == 2


def test_next_response_breaches_when_nobody_answers_the_customer(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "reply", 10).state
    state = act(state, short_policies, "customer_reply", 20).state
    outcome = tickets.fire_due(state, now=T + 80)
    assert ("breached", "next_response", 0) in kinds(outcome)


def test_customer_message_before_any_reply_does_not_start_next_response(routing, short_policies):
    state = open_one(routing, short_policies).state
    outcome = act(state, short_policies, "customer_reply", 20)
    assert "next_response" not in outcome.state.clocks


def test_progress_update_starts_the_next_progress_period(routing, short_policies):
    state = open_one(routing, short_policies).state
    outcome = act(state, short_policies, "progress", 200)
    clock = outcome.state.clocks["progress_update"]
    assert (clock.cycle, clock.started_at, clock.due_at) == (2, T + 200, T + 500)
    assert ("fulfilled", "progress_update", 0) in kinds(outcome)


def test_missing_progress_update_breaches(routing, short_policies):
    state = open_one(routing, short_policies).state
    assert ("breached", "progress_update", 0) in kinds(tickets.fire_due(state, now=T + 300))


def test_pending_pauses_resolution_and_customer_reply_resumes_it(routing, short_policies):
    state = open_one(routing, short_policies).state
    state = act(state, short_policies, "pending", 100).state
    assert state.status == "pending"
    outcome = act(state, short_policies, "customer_reply", 400)
    assert ("resumed", "resolution", 1) in kinds(outcome)
    assert outcome.state.clocks["resolution"].due_at == T + 1000 + 300


def test_resolve_stops_every_clock_and_records_first_resolution(routing, short_policies):
    state = open_one(routing, short_policies).state
    outcome = act(state, short_policies, "resolve", 200)
    assert ("fulfilled", "resolution", 0) in kinds(outcome)
    assert outcome.state.status == "resolved" and outcome.state.first_resolved_at == T + 200
    assert outcome.state.next_due() is None


def test_reopen_starts_a_new_resolution_cycle_and_keeps_first_resolution(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "resolve", 200).state
    outcome = act(state, short_policies, "reopen", 300)
    resolution = outcome.state.clocks["resolution"]
    assert (resolution.cycle, resolution.started_at, resolution.due_at) == (2, T + 300, T + 1300)
    assert outcome.state.first_resolved_at == T + 200 and outcome.state.reopen_count == 1
    assert ("activated", "resolution", 0) in kinds(outcome)


def test_a_customer_writing_again_on_a_resolved_ticket_reopens_it(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "reply", 50).state
    state = act(state, short_policies, "resolve", 200).state
    outcome = act(state, short_policies, "customer_reply", 300)
    assert outcome.state.status == "open" and outcome.state.reopen_count == 1
    assert outcome.state.clocks["resolution"].cycle == 2 and outcome.state.first_resolved_at == T + 200
    assert ("activated", "resolution", 0) in kinds(outcome) and ("activated", "next_response", 0) in kinds(outcome)


def test_a_resolved_ticket_stays_resolved_on_a_customer_reply_when_the_policy_file_says_so(routing, short_policies):
    keep_resolved = short_policies.model_copy(update={"reopen_on_customer_reply": False})
    state = act(open_one(routing, keep_resolved).state, keep_resolved, "resolve", 200).state
    outcome = act(state, keep_resolved, "customer_reply", 300)
    assert outcome.state.status == "resolved" and outcome.state.reopen_count == 0 and kinds(outcome) == []


def test_a_customer_reply_written_before_the_resolution_does_not_reopen_it(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "resolve", 200).state
    late = tickets.apply_action(state, action("customer_reply", 190), policies=short_policies, now=T + 210)
    assert late.state.status == "resolved" and late.state.reopen_count == 0


def test_breach_escalates_level_by_level(routing, short_policies):
    state = open_one(routing, short_policies).state
    at_breach = tickets.fire_due(state, now=T + 100)
    assert ("breached", "first_response", 0) in kinds(at_breach) and ("escalated", "first_response", 1) in kinds(
        at_breach
    )
    later = tickets.fire_due(at_breach.state, now=T + 200)
    assert [k for k in kinds(later) if k[1] == "first_response"] == [("escalated", "first_response", 2)]


def test_grade_one_complaint_escalates_straight_to_the_task_force_level(routing, short_policies):
    state = open_one(routing, short_policies, request_type="complaint", grade=1).state
    assert state.policy == "grade-1"
    outcome = tickets.fire_due(state, now=T + 50)
    assert ("escalated", "first_response", 3) in kinds(outcome)
    assert short_policies.notify("grade-1", "first_response", 3) == ("complaint_taskforce", "management")


def test_redelivered_action_is_applied_once(routing, short_policies):
    state = open_one(routing, short_policies).state
    reply = action("reply", 30, key="same")
    state = tickets.apply_action(state, reply, policies=short_policies, now=T + 31).state
    assert tickets.apply_action(state, reply, policies=short_policies, now=T + 32).duplicate


def test_action_before_its_request_is_held_then_applied_in_time_order(routing, short_policies):
    held = tickets.apply_action(None, action("reply", 20), policies=short_policies, now=T + 21).state
    assert held.status == "awaiting_request"
    outcome = tickets.open_ticket(held, classified(), routing=routing, policies=short_policies, now=T + 22)
    assert ("fulfilled", "first_response", 0) in kinds(outcome)
    assert outcome.state.first_response_at == T + 20


def test_transfer_changes_the_handler_not_the_owner(routing, short_policies):
    state = open_one(routing, short_policies, request_type="inquiry").state
    outcome = act(state, short_policies, "transfer", 10, department="after_sales")
    assert outcome.state.department == "operations" and outcome.state.handling_department == "after_sales"
    assert [(copy.department, copy.role) for copy in outcome.routed] == [("after_sales", "transfer")]
    assert outcome.state.clocks["first_response"].started_at == T  # no reset on transfer


def test_close_stops_every_clock(routing, short_policies):
    outcome = act(open_one(routing, short_policies).state, short_policies, "close", 50)
    assert outcome.state.status == "closed" and outcome.state.next_due() is None


def test_fire_due_emits_only_what_is_due(routing, short_policies):
    state = open_one(routing, short_policies).state
    assert tickets.fire_due(state, now=T + 10).state is None
    outcome = tickets.fire_due(state, now=T + 100)
    assert [k for k in kinds(outcome) if k[1] == "first_response"] == [
        ("warning", "first_response", 50),
        ("breached", "first_response", 0),
        ("escalated", "first_response", 1),
    ]
    assert tickets.fire_due(outcome.state, now=T + 101).state is None  # never twice


def test_state_round_trips_through_json(routing, short_policies):
    state = open_one(routing, short_policies).state
    tickets.fire_due(state, now=T + 100)
    restored = tickets.TicketState.model_validate_json(state.model_dump_json())
    assert restored == state and restored.next_due() == state.next_due()


def _repair(state, policies, routing, sequence=1, based_on=None):
    from streams.models import ClockRepair

    clocks = {metric: clock.model_dump(mode="json") for metric, clock in state.clocks.items()}
    return TicketAction(
        action_id=f"R{sequence}",
        ticket_id=state.ticket_id,
        type="repair",
        by="sla-replay",
        at=SUBMITTED,
        repair=ClockRepair(policy="test", clocks=clocks, sequence=sequence, based_on_action=based_on),
    )


def test_repair_swaps_clocks_and_fires_what_the_new_policy_puts_in_the_past(routing, short_policies):
    tight = PolicyFile.model_validate(
        {"policies": [{"name": "test", "targets": {"first_response": "10s", "resolution": "1000s"}}]}
    )
    live = open_one(routing, short_policies).state
    recomputed = open_one(routing, tight).state
    outcome = tickets.apply_action(live, _repair(recomputed, tight, routing), policies=short_policies, now=T + 50)
    assert outcome.rejection is None
    assert outcome.state.clocks["first_response"].due_at == T + 10
    assert ("breached", "first_response", 0) in kinds(outcome)
    assert all(event.late for event in outcome.sla_events if event.kind == "breached")
    assert any(event.kind == "activated" and event.repair == 1 for event in outcome.sla_events)


def test_repair_never_fires_again_what_already_fired(routing, short_policies):
    live = open_one(routing, short_policies).state
    tickets.fire_due(live, now=T + 100)  # first-response breach fired under the live policy
    recomputed = open_one(routing, short_policies).state  # knows nothing of that breach
    outcome = tickets.apply_action(
        live, _repair(recomputed, short_policies, routing), policies=short_policies, now=T + 120
    )
    assert ("breached", "first_response", 0) not in kinds(outcome)


def test_repair_computed_before_a_newer_action_is_refused(routing, short_policies):
    live = act(open_one(routing, short_policies).state, short_policies, "reply", 5).state
    recomputed = open_one(routing, short_policies).state
    outcome = tickets.apply_action(
        live, _repair(recomputed, short_policies, routing, based_on=None), policies=short_policies, now=T + 10
    )
    assert outcome.rejection is not None and "stale repair" in outcome.rejection


def test_pending_on_a_resolved_ticket_changes_nothing(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "resolve", 100).state
    outcome = act(state, short_policies, "pending", 200)
    assert outcome.state.status == "resolved" and outcome.state.next_due() is None


def test_a_reply_while_waiting_on_the_customer_keeps_the_progress_period_paused(routing, short_policies):
    state = act(open_one(routing, short_policies).state, short_policies, "pending", 100).state
    outcome = act(state, short_policies, "reply", 150)
    progress = outcome.state.clocks["progress_update"]
    assert progress.cycle == 1 and progress.paused_at is not None
    assert not [k for k in kinds(tickets.fire_due(outcome.state, now=T + 5000)) if k[1] == "progress_update"]


def test_fire_due_can_be_held_back_to_an_earlier_moment(routing, short_policies):
    state = open_one(routing, short_policies).state
    held = tickets.fire_due(state, now=T + 100, upto=T + 60)
    assert [k for k in kinds(held) if k[1] == "first_response"] == [("warning", "first_response", 50)]


# -- customer e-mail replies whose ticket is not found --------------------------------------------
