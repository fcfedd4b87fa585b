from datetime import datetime, timedelta, timezone

import pytest

from streams import ids
from streams.domain import tickets
from streams.domain.policies import PolicyFile
from streams.models import (
    CanonicalRequest,
    Classification,
    ClassifiedRequest,
    CustomerRef,
    RequestOrigin,
    RequestSubmission,
    TicketAction,
    UnmatchedReply,
)

SUBMITTED = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
T = SUBMITTED.timestamp()


@pytest.fixture
def short_policies():
    return PolicyFile.model_validate(
        {
            "warn_at": [0.5],
            "escalation": [{"level": 1, "after_breach": "0m", "notify": ["senior_agent"]},
                           {"level": 2, "after_breach": "100s", "notify": ["supervisor"]}],
            "policies": [
                {"name": "grade-1", "match": {"type": "complaint", "complaint_grade": 1},
                 "targets": {"first_response": "50s", "resolution": "500s"},
                 "escalation": [{"level": 3, "after_breach": "0m", "notify": ["complaint_taskforce", "management"]}]},
                {"name": "test", "targets": {"first_response": "100s", "next_response": "60s",
                                             "progress_update": "300s", "resolution": "1000s"}},
            ],
        }
    )  # fmt: skip


def classified(ticket="TKT-1", request_type="inquiry", grade=None, tier="regular", confidence=0.9, aspects=()):
    request = CanonicalRequest(
        request_id="REQ-1", ticket_id=ticket, channel="app", customer_id="C1", customer=CustomerRef(id="C1"),
        text="hi", language="en", submitted_at=SUBMITTED, received_at=SUBMITTED, idempotency_key="k",
    )  # fmt: skip
    classification = Classification(
        type=request_type, urgency="normal", complaint_grade=grade, segment=tier, confidence=confidence,
        aspects=list(aspects), model_version="t",
    )  # fmt: skip
    return ClassifiedRequest(request=request, classification=classification)


def action(kind, at, ticket="TKT-1", key=None, **fields):
    return TicketAction(action_id=ids.action_id(ticket, key or f"{kind}-{at}"), ticket_id=ticket, type=kind, by="agent-1",
                        at=SUBMITTED + timedelta(seconds=at), **fields)  # fmt: skip


def open_one(routing, policies, now=T + 1, **kw):
    return tickets.open_ticket(None, classified(**kw), routing=routing, policies=policies, now=now)


def act(state, policies, kind, at, **fields):
    return tickets.apply_action(state, action(kind, at, **fields), policies=policies, now=T + at)


def kinds(outcome):
    return [(event.kind, event.metric, event.level) for event in outcome.sla_events]


def test_opening_routes_and_activates_its_clocks(routing, short_policies):
    outcome = open_one(routing, short_policies, request_type="after_sales")
    assert [copy.department for copy in outcome.routed] == ["after_sales"]
    assert kinds(outcome) == [("activated", "first_response", 0), ("activated", "progress_update", 0),
                              ("activated", "resolution", 0)]  # fmt: skip
    assert outcome.state.clocks["first_response"].due_at == T + 100


def test_clock_starts_at_the_customers_submit_time_not_processing_time(routing, short_policies):
    outcome = open_one(routing, short_policies, now=T + 80)
    assert outcome.state.clocks["first_response"].started_at == T
    assert ("warning", "first_response", 50) in kinds(outcome)  # 50 s point already passed on arrival


def test_copies_go_to_cc_departments(routing, short_policies):
    outcome = open_one(routing, short_policies, request_type="complaint", grade=3, aspects=["service"])
    assert [(copy.department, copy.role) for copy in outcome.routed] == [("cs_supervisor", "owner"), ("operations", "cc")]


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
    assert ("breached", "first_response", 0) in kinds(at_breach) and ("escalated", "first_response", 1) in kinds(at_breach)
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
        ("warning", "first_response", 50), ("breached", "first_response", 0), ("escalated", "first_response", 1)]
    assert tickets.fire_due(outcome.state, now=T + 101).state is None  # never twice


def test_state_round_trips_through_json(routing, short_policies):
    state = open_one(routing, short_policies).state
    tickets.fire_due(state, now=T + 100)
    restored = tickets.TicketState.model_validate_json(state.model_dump_json())
    assert restored == state and restored.next_due() == state.next_due()


def _repair(state, policies, routing, sequence=1, based_on=None):
    from streams.models import ClockRepair

    clocks = {metric: clock.model_dump(mode="json") for metric, clock in state.clocks.items()}
    return TicketAction(action_id=f"R{sequence}", ticket_id=state.ticket_id, type="repair", by="sla-replay",
                        at=SUBMITTED, repair=ClockRepair(policy="test", clocks=clocks, sequence=sequence,
                                                         based_on_action=based_on))  # fmt: skip


def test_repair_swaps_clocks_and_fires_what_the_new_policy_puts_in_the_past(routing, short_policies):
    tight = PolicyFile.model_validate({"policies": [{"name": "test", "targets": {"first_response": "10s",
                                                                                  "resolution": "1000s"}}]})  # fmt: skip
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
    outcome = tickets.apply_action(live, _repair(recomputed, short_policies, routing), policies=short_policies,
                                   now=T + 120)  # fmt: skip
    assert ("breached", "first_response", 0) not in kinds(outcome)


def test_repair_computed_before_a_newer_action_is_refused(routing, short_policies):
    live = act(open_one(routing, short_policies).state, short_policies, "reply", 5).state
    recomputed = open_one(routing, short_policies).state
    outcome = tickets.apply_action(live, _repair(recomputed, short_policies, routing, based_on=None),
                                   policies=short_policies, now=T + 10)  # fmt: skip
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

HOLD = 600.0
RETENTION = tickets.Retention(tickets=3600, orphan_actions=86400, unmatched_replies=HOLD)


def email_reply(at, *, ticket="TKT-1", key="reply-1@mail.example.cn", text="另外我想退掉上周买的耳机",
                references=("root@news.shop.example",)):  # fmt: skip
    """A customer's e-mail reply as the e-mail adapter sends it: received `at` seconds after SUBMITTED."""
    moment = SUBMITTED + timedelta(seconds=at)
    unmatched = UnmatchedReply(
        idempotency_key=key, received_at=moment, thread_message_id="root@news.shop.example",
        references=list(references),
        submission=RequestSubmission(customer=CustomerRef(email="wang@example.cn"), text=text, subject="Re: 双11",
                                     submitted_at=moment),
    )  # fmt: skip
    return TicketAction(action_id=ids.action_id(ticket, f"email:{key}"), ticket_id=ticket, type="customer_reply",
                        by="customer", at=moment, channel="email", note=text, unmatched=unmatched)  # fmt: skip


def hold(state, reply, now):
    return tickets.apply_action(state, reply, policies=None, now=now)


def test_a_held_email_reply_waits_for_its_ticket_until_the_hold_has_passed():
    state = hold(None, email_reply(0), T + 1).state
    assert state.status == "awaiting_request" and state.promotion_due(HOLD) == T + HOLD
    assert state.wake_at(RETENTION) == T + HOLD
    assert tickets.fire_due(state, now=T + HOLD - 1, reply_hold=HOLD).state is None


def test_a_held_email_reply_becomes_a_request_once_the_hold_has_passed():
    state = hold(None, email_reply(0), T + 1).state
    outcome = tickets.fire_due(state, now=T + HOLD, reply_hold=HOLD)
    (promotion,) = outcome.promotions
    assert promotion.reason == "no_ticket" and promotion.ticket_id == ids.ticket_id("email", "reply-1@mail.example.cn")
    assert outcome.state.early_actions == [] and outcome.state.promoted_replies == [promotion.ticket_id]


def test_the_promoted_request_says_which_thread_it_came_from():
    state = hold(None, email_reply(0), T + 1).state
    origin = tickets.fire_due(state, now=T + HOLD, reply_hold=HOLD).promotions[0].origin()
    assert (origin.kind, origin.reason, origin.thread_ticket) == ("unmatched_reply", "no_ticket", "TKT-1")
    assert origin.thread_message_id == "root@news.shop.example"
    assert origin.reply_action_id == email_reply(0).action_id and "10 min" in origin.detail


def test_a_second_timer_pass_promotes_nothing_again():
    state = hold(None, email_reply(0), T + 1).state
    state = tickets.fire_due(state, now=T + HOLD, reply_hold=HOLD).state
    assert tickets.fire_due(state, now=T + HOLD + 5, reply_hold=HOLD).state is None


def test_a_redelivered_reply_after_its_promotion_is_a_duplicate():
    state = hold(None, email_reply(0), T + 1).state
    state = tickets.fire_due(state, now=T + HOLD, reply_hold=HOLD).state
    assert hold(state, email_reply(0), T + HOLD + 60).duplicate


def test_the_timer_held_back_in_event_time_does_not_promote_yet():
    state = hold(None, email_reply(0), T + 1).state
    assert tickets.fire_due(state, now=T + 2 * HOLD, upto=T + HOLD - 1, reply_hold=HOLD).state is None


def test_a_reply_whose_request_arrives_within_the_hold_applies_to_that_ticket(routing, short_policies):
    state = hold(None, email_reply(20), T + 21).state
    outcome = tickets.open_ticket(state, classified(), routing=routing, policies=short_policies, now=T + 22)
    assert outcome.promotions == [] and outcome.state.early_actions == []
    assert email_reply(20).action_id in outcome.state.recent_action_ids
    assert tickets.fire_due(outcome.state, now=T + HOLD + 30, reply_hold=HOLD).promotions == []


def test_other_early_actions_keep_the_longer_orphan_hold():
    state = tickets.apply_action(None, action("reply", 0), policies=None, now=T).state
    assert state.promotion_due(HOLD) is None and state.wake_at(RETENTION) == T + 86400
    assert tickets.fire_due(state, now=T + HOLD + 1, reply_hold=HOLD).state is None


def test_a_thread_never_expires_while_a_reply_waits_to_be_promoted():
    short = tickets.Retention(tickets=3600, orphan_actions=60, unmatched_replies=HOLD)
    state = tickets.apply_action(None, action("reply", 0), policies=None, now=T).state
    state = hold(state, email_reply(1), T + 1).state
    assert state.expires_at(short) is None and state.wake_at(short) == T + 1 + HOLD


def test_a_thread_whose_replies_were_promoted_is_kept_for_the_ticket_retention():
    month = tickets.Retention(tickets=30 * 86400, orphan_actions=86400, unmatched_replies=HOLD)
    state = hold(None, email_reply(0), T + 1).state
    state = tickets.fire_due(state, now=T + HOLD, reply_hold=HOLD).state
    assert state.expires_at(month) == T + HOLD + 30 * 86400


def test_an_unknown_thread_holds_a_bounded_number_of_replies_and_promotes_the_oldest_beyond_it():
    state = None
    for number in range(tickets.HELD_REPLIES_KEPT):
        state = hold(state, email_reply(number, key=f"r{number}@mail.example.cn"), T + number).state
    outcome = hold(state, email_reply(99, key="r99@mail.example.cn"), T + 99)
    (promotion,) = outcome.promotions
    assert promotion.action.unmatched.idempotency_key == "r0@mail.example.cn"
    assert len(outcome.state.held_replies()) == tickets.HELD_REPLIES_KEPT


def test_a_reply_to_a_closed_ticket_becomes_a_request_linked_to_it_at_once(routing, short_policies):
    closed = act(open_one(routing, short_policies).state, short_policies, "close", 50).state
    outcome = tickets.apply_action(closed, email_reply(4000), policies=short_policies, now=T + 4001)
    (promotion,) = outcome.promotions
    assert (promotion.reason, promotion.origin().thread_ticket) == ("ticket_closed", "TKT-1")
    assert outcome.state.status == "closed" and outcome.state.promoted_replies == [promotion.ticket_id]


def test_a_reply_to_an_open_ticket_is_only_a_customer_reply(routing, short_policies):
    state = open_one(routing, short_policies).state
    outcome = tickets.apply_action(state, email_reply(30), policies=short_policies, now=T + 31)
    assert outcome.promotions == [] and outcome.state.status == "open"


def test_a_thread_request_arriving_after_a_promotion_lists_the_promoted_ticket(routing, short_policies):
    state = hold(None, email_reply(0), T + 1).state
    state = tickets.fire_due(state, now=T + HOLD, reply_hold=HOLD).state
    opened = tickets.open_ticket(state, classified(), routing=routing, policies=short_policies, now=T + HOLD + 5).state
    assert opened.status == "open" and opened.promoted_replies == [ids.ticket_id("email", "reply-1@mail.example.cn")]


def test_a_ticket_opened_from_a_promoted_reply_records_its_origin(routing, short_policies):
    state = hold(None, email_reply(0), T + 1).state
    origin = tickets.fire_due(state, now=T + HOLD, reply_hold=HOLD).promotions[0].origin()
    request = classified(ticket=ids.ticket_id("email", "reply-1@mail.example.cn"))
    request.request.origin = origin
    opened = tickets.open_ticket(None, request, routing=routing, policies=short_policies, now=T + HOLD + 1).state
    assert opened.origin == origin


def test_a_held_reply_survives_the_stored_form():
    from streams.state.codec import decode_ticket, encode_ticket

    state = hold(None, email_reply(0), T + 1).state
    assert decode_ticket(encode_ticket(state)).held_replies() == state.held_replies()


def _promoted_thread():
    """The thread's state once the customer's first reply became a ticket of its own."""
    state = hold(None, email_reply(0), T + 1).state
    return tickets.fire_due(state, now=T + HOLD, reply_hold=HOLD).state


FOLLOW_UP = ("root@news.shop.example", "reply-1@mail.example.cn", "agent-answer@desk.shop.example")


def test_a_later_reply_in_a_promoted_conversation_is_passed_on_to_its_ticket():
    promoted = ids.ticket_id("email", "reply-1@mail.example.cn")
    outcome = hold(_promoted_thread(), email_reply(4000, key="reply-2@mail.example.cn", references=FOLLOW_UP), T + 4000)
    (forwarded,) = outcome.forwarded
    assert (forwarded.ticket_id, forwarded.type) == (promoted, "customer_reply")
    assert forwarded.action_id == forwarded.unmatched.action_id_on(promoted)
    assert outcome.promotions == [] and outcome.state.held_replies() == []


def test_a_reply_to_the_thread_itself_after_a_promotion_waits_for_its_ticket_again():
    outcome = hold(_promoted_thread(), email_reply(4000, key="reply-3@mail.example.cn"), T + 4000)
    assert outcome.forwarded == [] and len(outcome.state.held_replies()) == 1


def test_a_later_reply_in_the_conversation_of_a_request_promoted_from_a_closed_ticket_is_passed_on(
    routing, short_policies
):  # fmt: skip
    closed = act(open_one(routing, short_policies).state, short_policies, "close", 50).state
    closed = tickets.apply_action(closed, email_reply(4000), policies=short_policies, now=T + 4001).state
    later = email_reply(9000, key="reply-2@mail.example.cn", references=FOLLOW_UP)
    outcome = tickets.apply_action(closed, later, policies=short_policies, now=T + 9001)
    assert outcome.promotions == [] and [a.ticket_id for a in outcome.forwarded] == closed.promoted_replies


# -- web chat follow-ups whose conversation has no ticket ----------------------------------------

CHAT_HOLD = 120.0
HOLDS = {"email": HOLD, "webchat": CHAT_HOLD}
CONVERSATION = ids.ticket_id("webchat", "cv-1")


def chat_message(at, *, message="m-2", text="还有发票要开", received_after=0.0):
    """A web chat follow-up as the web chat adapter sends it: sent `at` seconds after SUBMITTED."""
    moment = SUBMITTED + timedelta(seconds=at)
    unmatched = UnmatchedReply(
        channel="webchat", idempotency_key="cv-1", received_at=moment + timedelta(seconds=received_after),
        message_key=f"cv-1:{message}", sender_handle="webchat-visitor:v-1",
        submission=RequestSubmission(customer=CustomerRef(id="C1"), text=text, submitted_at=moment),
    )  # fmt: skip
    return TicketAction(action_id=ids.action_id(CONVERSATION, f"webchat:{message}"), ticket_id=CONVERSATION,
                        type="customer_reply", by="customer", at=moment, channel="webchat", note=text,
                        unmatched=unmatched)  # fmt: skip


def conversation_request():
    """The request the promoted follow-up becomes, back from normalize and classify."""
    request = classified(ticket=CONVERSATION)
    request.request.request_id = ids.request_id("webchat", "cv-1")
    return request


def test_a_held_web_chat_follow_up_waits_the_chat_hold_not_the_mail_hold():
    state = hold(None, chat_message(0), T + 1).state
    assert state.promotion_due(HOLDS) == T + CHAT_HOLD
    assert tickets.fire_due(state, now=T + CHAT_HOLD - 1, reply_hold=HOLDS).state is None


def test_a_web_chat_follow_up_without_its_conversation_ticket_opens_that_ticket_after_the_hold():
    state = hold(None, chat_message(0), T + 1).state
    (promotion,) = tickets.fire_due(state, now=T + CHAT_HOLD, reply_hold=HOLDS).promotions
    assert (promotion.reason, promotion.channel) == ("no_ticket", "webchat")
    assert promotion.ticket_id == CONVERSATION == state.ticket_id
    assert promotion.origin().thread_ticket == CONVERSATION and "opening message" in promotion.origin().detail


def test_of_several_held_follow_ups_only_the_earliest_is_promoted():
    state = hold(None, chat_message(30, message="m-3", text="第二句"), T + 31).state
    state = hold(state, chat_message(10, message="m-2", text="第一句", received_after=25), T + 36).state
    outcome = tickets.fire_due(state, now=T + 30 + CHAT_HOLD, reply_hold=HOLDS)
    (promotion,) = outcome.promotions
    assert promotion.action.note == "第一句"
    assert [action.note for action in outcome.state.early_actions] == ["第二句"]


def test_the_other_follow_ups_wait_for_the_promoted_request_and_are_not_promoted_themselves():
    state = hold(None, chat_message(0, message="m-2"), T + 1).state
    state = hold(state, chat_message(20, message="m-3"), T + 21).state
    state = tickets.fire_due(state, now=T + CHAT_HOLD, reply_hold=HOLDS).state
    assert state.awaits_own_request and state.held_replies() == []
    assert tickets.fire_due(state, now=T + 20 + CHAT_HOLD, reply_hold=HOLDS).state is None
    assert state.expires_at(RETENTION) is not None  # kept like a thread whose replies were promoted


def test_a_follow_up_arriving_after_the_promotion_also_waits_for_the_conversation_ticket():
    state = hold(None, chat_message(0, message="m-2"), T + 1).state
    state = tickets.fire_due(state, now=T + CHAT_HOLD, reply_hold=HOLDS).state
    state = hold(state, chat_message(CHAT_HOLD + 5, message="m-3"), T + CHAT_HOLD + 6).state
    assert tickets.fire_due(state, now=T + 3 * CHAT_HOLD, reply_hold=HOLDS).state is None
    assert len(state.early_actions) == 1


def test_the_promoted_request_opens_the_conversation_and_the_later_follow_ups_apply_to_it_in_order(
    routing, short_policies
):  # fmt: skip
    state = hold(None, chat_message(40, message="m-4"), T + 41).state
    state = hold(state, chat_message(0, message="m-2"), T + 42).state
    state = hold(state, chat_message(20, message="m-3"), T + 43).state
    state = tickets.fire_due(state, now=T + 42 + CHAT_HOLD, reply_hold=HOLDS).state
    opened = tickets.open_ticket(state, conversation_request(), routing=routing, policies=short_policies,
                                 now=T + 50 + CHAT_HOLD).state  # fmt: skip
    assert opened.status == "open" and opened.ticket_id == CONVERSATION and opened.early_actions == []
    m2, m3, m4 = (chat_message(0, message=m).action_id for m in ("m-2", "m-3", "m-4"))
    assert opened.recent_action_ids[-3:] == [m2, m3, m4] and opened.last_action == m4
    assert opened.promoted_replies == []  # the ticket is not a reply promoted out of itself


def test_a_redelivered_follow_up_after_its_promotion_is_a_duplicate():
    state = hold(None, chat_message(0), T + 1).state
    state = tickets.fire_due(state, now=T + CHAT_HOLD, reply_hold=HOLDS).state
    assert hold(state, chat_message(0), T + CHAT_HOLD + 1).duplicate


def test_a_redelivered_follow_up_after_the_conversation_ticket_opened_is_a_duplicate(routing, short_policies):
    state = hold(None, chat_message(0), T + 1).state
    state = tickets.fire_due(state, now=T + CHAT_HOLD, reply_hold=HOLDS).state
    opened = tickets.open_ticket(state, conversation_request(), routing=routing, policies=short_policies,
                                 now=T + CHAT_HOLD + 2).state  # fmt: skip
    assert tickets.apply_action(opened, chat_message(0), policies=short_policies, now=T + CHAT_HOLD + 3).duplicate


def test_a_repeated_promoted_request_collapses_on_the_opened_conversation_ticket(routing, short_policies):
    state = hold(None, chat_message(0), T + 1).state
    state = tickets.fire_due(state, now=T + CHAT_HOLD, reply_hold=HOLDS).state
    opened = tickets.open_ticket(state, conversation_request(), routing=routing, policies=short_policies,
                                 now=T + CHAT_HOLD + 2).state  # fmt: skip
    again = tickets.open_ticket(opened, conversation_request(), routing=routing, policies=short_policies,
                                now=T + CHAT_HOLD + 3)  # fmt: skip
    assert again.duplicate


def test_an_opening_message_arriving_within_the_chat_hold_takes_its_follow_ups_as_replies(routing, short_policies):
    state = hold(None, chat_message(5), T + 6).state
    opened = tickets.open_ticket(state, conversation_request(), routing=routing, policies=short_policies, now=T + 7)
    assert opened.promotions == [] and opened.state.last_action == chat_message(5).action_id
    assert tickets.fire_due(opened.state, now=T + CHAT_HOLD + 10, reply_hold=HOLDS).promotions == []


def test_too_many_held_follow_ups_promote_the_earliest_at_once_and_keep_the_others():
    state = None
    for number in range(tickets.HELD_REPLIES_KEPT):
        state = hold(state, chat_message(100 - number, message=f"m-{100 - number}"), T + number).state
    outcome = hold(state, chat_message(50, message="m-50"), T + 50)
    (promotion,) = outcome.promotions
    assert promotion.action.action_id == chat_message(50, message="m-50").action_id  # the earliest sent
    assert len(outcome.state.early_actions) == tickets.HELD_REPLIES_KEPT and outcome.state.awaits_own_request


def test_a_follow_up_on_a_closed_chat_ticket_becomes_a_ticket_of_its_own_at_once(routing, short_policies):
    opened = tickets.open_ticket(None, conversation_request(), routing=routing, policies=short_policies, now=T + 1)
    closed = act(opened.state, short_policies, "close", 50, ticket=CONVERSATION).state
    outcome = tickets.apply_action(closed, chat_message(4000), policies=short_policies, now=T + 4001)
    (promotion,) = outcome.promotions
    assert promotion.reason == "ticket_closed" and promotion.ticket_id == ids.ticket_id("webchat", "cv-1:m-2")
    assert outcome.state.promoted_replies == [promotion.ticket_id]


def test_the_conversation_goes_on_in_the_ticket_its_message_after_the_close_opened(routing, short_policies):
    opened = tickets.open_ticket(None, conversation_request(), routing=routing, policies=short_policies, now=T + 1)
    closed = act(opened.state, short_policies, "close", 50, ticket=CONVERSATION).state
    closed = tickets.apply_action(closed, chat_message(4000), policies=short_policies, now=T + 4001).state
    outcome = tickets.apply_action(closed, chat_message(4100, message="m-3"), policies=short_policies, now=T + 4101)
    (forwarded,) = outcome.forwarded
    assert forwarded.ticket_id == ids.ticket_id("webchat", "cv-1:m-2") and outcome.promotions == []


def promoted_conversation_request():
    """The promoted follow-up back from normalize and classify: it carries its origin."""
    request = conversation_request()
    request.request.origin = RequestOrigin(reason="no_ticket", detail="held follow-up", thread_ticket=CONVERSATION,
                                           reply_action_id=chat_message(0).action_id)  # fmt: skip
    return request


def late_opening_request():
    """The conversation's own opening message (seq 1), reaching the lifecycle after the promotion."""
    request = conversation_request()
    request.request.text = "你好，我的订单一直没发货"
    return request


def test_an_opening_message_arriving_after_its_follow_up_opened_the_ticket_is_passed_on_as_the_customers_message(
    routing, short_policies
):  # fmt: skip
    opened = tickets.open_ticket(None, promoted_conversation_request(), routing=routing, policies=short_policies,
                                 now=T + CHAT_HOLD + 2).state  # fmt: skip
    outcome = tickets.open_ticket(opened, late_opening_request(), routing=routing, policies=short_policies,
                                  now=T + CHAT_HOLD + 60)  # fmt: skip
    assert not outcome.duplicate and outcome.routed == [] and outcome.sla_events == []
    (passed_on,) = outcome.forwarded
    assert (passed_on.ticket_id, passed_on.type, passed_on.by) == (CONVERSATION, "customer_reply", "customer")
    assert passed_on.note.endswith("你好，我的订单一直没发货") and "opening message" in passed_on.note


def test_a_late_opening_message_is_passed_on_once(routing, short_policies):
    opened = tickets.open_ticket(None, promoted_conversation_request(), routing=routing, policies=short_policies,
                                 now=T + CHAT_HOLD + 2).state  # fmt: skip
    (passed_on,) = tickets.open_ticket(opened, late_opening_request(), routing=routing, policies=short_policies,
                                       now=T + CHAT_HOLD + 60).forwarded  # fmt: skip
    applied = tickets.apply_action(opened, passed_on, policies=short_policies, now=T + CHAT_HOLD + 61).state
    again = tickets.open_ticket(applied, late_opening_request(), routing=routing, policies=short_policies,
                                now=T + CHAT_HOLD + 90)  # fmt: skip
    assert again.duplicate


def test_a_repeat_of_the_promoted_request_itself_stays_a_duplicate(routing, short_policies):
    opened = tickets.open_ticket(None, promoted_conversation_request(), routing=routing, policies=short_policies,
                                 now=T + CHAT_HOLD + 2).state  # fmt: skip
    again = tickets.open_ticket(opened, promoted_conversation_request(), routing=routing, policies=short_policies,
                                now=T + CHAT_HOLD + 3)  # fmt: skip
    assert again.duplicate and again.forwarded == []


def test_an_action_dated_well_before_its_request_is_refused_and_changes_nothing(routing, short_policies):
    state = open_one(routing, short_policies).state
    refused = act(state, short_policies, "resolve", -3600)
    assert refused.state is None and refused.rejection_code == "invalid_action" and "before ticket" in refused.rejection
    assert state.status != "resolved"
    within_skew = act(state, short_policies, "reply", -60)  # two systems' clocks a minute apart
    assert within_skew.rejection is None and ("fulfilled", "first_response", 0) in kinds(within_skew)
