"""E-mail replies whose ticket is not found: held, promoted, passed on."""

from __future__ import annotations

from datetime import timedelta

from streams import ids
from streams.domain import tickets
from streams.models import (
    CustomerRef,
    RequestSubmission,
    TicketAction,
    UnmatchedReply,
)
from tests.domain.tickets.helpers import (
    HOLD,
    RETENTION,
    SUBMITTED,
    T,
    act,
    action,
    classified,
    hold,
    open_one,
)


def email_reply(
    at,
    *,
    ticket="TKT-1",
    key="reply-1@mail.example.cn",
    text="另外我想退掉上周买的耳机",
    references=("root@news.shop.example",),
):
    """A customer's e-mail reply as the e-mail adapter sends it: received `at` seconds after SUBMITTED."""
    moment = SUBMITTED + timedelta(seconds=at)
    unmatched = UnmatchedReply(
        idempotency_key=key,
        received_at=moment,
        thread_message_id="root@news.shop.example",
        references=list(references),
        submission=RequestSubmission(
            customer=CustomerRef(email="wang@example.cn"), text=text, subject="Re: 双11", submitted_at=moment
        ),
    )
    return TicketAction(
        action_id=ids.action_id(ticket, f"email:{key}"),
        ticket_id=ticket,
        type="customer_reply",
        by="customer",
        at=moment,
        channel="email",
        note=text,
        unmatched=unmatched,
    )


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
):
    closed = act(open_one(routing, short_policies).state, short_policies, "close", 50).state
    closed = tickets.apply_action(closed, email_reply(4000), policies=short_policies, now=T + 4001).state
    later = email_reply(9000, key="reply-2@mail.example.cn", references=FOLLOW_UP)
    outcome = tickets.apply_action(closed, later, policies=short_policies, now=T + 9001)
    assert outcome.promotions == [] and [a.ticket_id for a in outcome.forwarded] == closed.promoted_replies


# -- web chat follow-ups whose conversation has no ticket ----------------------------------------
