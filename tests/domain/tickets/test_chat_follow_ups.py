"""Web chat follow-ups whose conversation has no ticket yet."""

from __future__ import annotations

from datetime import timedelta

from streams import ids
from streams.domain import tickets
from streams.models import (
    CustomerRef,
    RequestOrigin,
    RequestSubmission,
    TicketAction,
    UnmatchedReply,
)
from tests.domain.tickets.helpers import (
    CHAT_HOLD,
    CONVERSATION,
    HOLDS,
    RETENTION,
    SUBMITTED,
    T,
    act,
    classified,
    hold,
    kinds,
    open_one,
)


def chat_message(at, *, message="m-2", text="还有发票要开", received_after=0.0):
    """A web chat follow-up as the web chat adapter sends it: sent `at` seconds after SUBMITTED."""
    moment = SUBMITTED + timedelta(seconds=at)
    unmatched = UnmatchedReply(
        channel="webchat",
        idempotency_key="cv-1",
        received_at=moment + timedelta(seconds=received_after),
        message_key=f"cv-1:{message}",
        sender_handle="webchat-visitor:v-1",
        submission=RequestSubmission(customer=CustomerRef(id="C1"), text=text, submitted_at=moment),
    )
    return TicketAction(
        action_id=ids.action_id(CONVERSATION, f"webchat:{message}"),
        ticket_id=CONVERSATION,
        type="customer_reply",
        by="customer",
        at=moment,
        channel="webchat",
        note=text,
        unmatched=unmatched,
    )


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
):
    state = hold(None, chat_message(40, message="m-4"), T + 41).state
    state = hold(state, chat_message(0, message="m-2"), T + 42).state
    state = hold(state, chat_message(20, message="m-3"), T + 43).state
    state = tickets.fire_due(state, now=T + 42 + CHAT_HOLD, reply_hold=HOLDS).state
    opened = tickets.open_ticket(
        state, conversation_request(), routing=routing, policies=short_policies, now=T + 50 + CHAT_HOLD
    ).state
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
    opened = tickets.open_ticket(
        state, conversation_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 2
    ).state
    assert tickets.apply_action(opened, chat_message(0), policies=short_policies, now=T + CHAT_HOLD + 3).duplicate


def test_a_repeated_promoted_request_collapses_on_the_opened_conversation_ticket(routing, short_policies):
    state = hold(None, chat_message(0), T + 1).state
    state = tickets.fire_due(state, now=T + CHAT_HOLD, reply_hold=HOLDS).state
    opened = tickets.open_ticket(
        state, conversation_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 2
    ).state
    again = tickets.open_ticket(
        opened, conversation_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 3
    )
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
    request.request.origin = RequestOrigin(
        reason="no_ticket",
        detail="held follow-up",
        thread_ticket=CONVERSATION,
        reply_action_id=chat_message(0).action_id,
    )
    return request


def late_opening_request():
    """The conversation's own opening message (seq 1), reaching the lifecycle after the promotion."""
    request = conversation_request()
    request.request.text = "你好，我的订单一直没发货"
    return request


def test_an_opening_message_arriving_after_its_follow_up_opened_the_ticket_is_passed_on_as_the_customers_message(
    routing, short_policies
):
    opened = tickets.open_ticket(
        None, promoted_conversation_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 2
    ).state
    outcome = tickets.open_ticket(
        opened, late_opening_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 60
    )
    assert not outcome.duplicate and outcome.routed == [] and outcome.sla_events == []
    (passed_on,) = outcome.forwarded
    assert (passed_on.ticket_id, passed_on.type, passed_on.by) == (CONVERSATION, "customer_reply", "customer")
    assert passed_on.note.endswith("你好，我的订单一直没发货") and "opening message" in passed_on.note


def test_a_late_opening_message_is_passed_on_once(routing, short_policies):
    opened = tickets.open_ticket(
        None, promoted_conversation_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 2
    ).state
    (passed_on,) = tickets.open_ticket(
        opened, late_opening_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 60
    ).forwarded
    applied = tickets.apply_action(opened, passed_on, policies=short_policies, now=T + CHAT_HOLD + 61).state
    again = tickets.open_ticket(
        applied, late_opening_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 90
    )
    assert again.duplicate


def test_a_repeat_of_the_promoted_request_itself_stays_a_duplicate(routing, short_policies):
    opened = tickets.open_ticket(
        None, promoted_conversation_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 2
    ).state
    again = tickets.open_ticket(
        opened, promoted_conversation_request(), routing=routing, policies=short_policies, now=T + CHAT_HOLD + 3
    )
    assert again.duplicate and again.forwarded == []


def test_an_action_dated_well_before_its_request_is_refused_and_changes_nothing(routing, short_policies):
    state = open_one(routing, short_policies).state
    refused = act(state, short_policies, "resolve", -3600)
    assert refused.state is None and refused.rejection_code == "invalid_action" and "before ticket" in refused.rejection
    assert state.status != "resolved"
    within_skew = act(state, short_policies, "reply", -60)  # two systems' clocks a minute apart
    assert within_skew.rejection is None and ("fulfilled", "first_response", 0) in kinds(within_skew)
