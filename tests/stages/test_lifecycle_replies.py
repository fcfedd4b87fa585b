"""lifecycle: customer replies (e-mail, web chat) whose ticket is not found."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from streams import ids
from streams.models import RawEnvelope, TicketAction
from streams.stages.classify import ClassifyStage
from streams.stages.lifecycle import LifecycleStage
from streams.stages.normalize import NormalizeStage
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.testing import (
    MemoryTicketStore,
)
from tests.stages.helpers import (
    CATALOG,
    NOW,
    REPLY_HOLD,
    action_record,
    lifecycle_owning_partition_0,
    raw_record,
)


@pytest.fixture
def mail_lifecycle(routing, short_policies):
    return lifecycle_owning_partition_0(routing, short_policies, reply_hold_seconds=REPLY_HOLD)


def mail_reply(
    answering="<news-7@shop.example>", message_id="<reply-1@mail.example.cn>", text="我的蓝牙耳机坏了，要求退货"
) -> TicketAction:
    from streams.adapters import email
    from tests.adapters import mails

    (action,) = email.mail_intake(mails.reply(answering, message_id=message_id, text=text), NOW).actions
    return action


def _promoted_total(reason="no_ticket", channel="email") -> float:
    from prometheus_client import REGISTRY

    labels = {"channel": channel, "reason": reason}
    return REGISTRY.get_sample_value("ticketflow_orphan_replies_promoted_total", labels) or 0.0


def test_a_reply_to_an_unknown_thread_becomes_exactly_one_request_after_the_hold(mail_lifecycle):
    reply = mail_reply()
    before = _promoted_total()
    assert mail_lifecycle.on_action(reply.model_dump_json().encode(), 0) == []
    assert mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD - 1) == []
    (output,) = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    envelope = RawEnvelope.model_validate_json(output.value)
    assert output.topic == "t.raw.email" and envelope.adapter == "email-reply/v1"
    assert envelope.ticket_id == ids.ticket_id("email", "reply-1@mail.example.cn")
    assert _promoted_total() == before + 1


def test_a_second_timer_pass_or_a_repeated_reply_publishes_no_second_request(mail_lifecycle):
    raw = mail_reply().model_dump_json().encode()
    mail_lifecycle.on_action(raw, 0)
    mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    assert mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD + 60) == []
    assert mail_lifecycle.on_action(raw, 0) == []  # the same mail delivered again
    assert mail_lifecycle.fire_due(0, NOW.timestamp() + 3 * REPLY_HOLD) == []


def test_a_promoted_reply_opens_a_routed_ticket_that_says_where_it_came_from(mail_lifecycle, classifier):
    reply = mail_reply()
    mail_lifecycle.on_action(reply.model_dump_json().encode(), 0)
    (promoted,) = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    (normalized,) = NormalizeStage(CATALOG).process(promoted.value, "email")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    outputs = mail_lifecycle.on_classified(classified.value, 0)
    (owner,) = [
        event
        for event in (orjson.loads(o.value) for o in outputs if o.topic.startswith("t.dept."))
        if event["data"]["role"] == "owner"
    ]
    origin = owner["data"]["origin"]
    assert (origin["kind"], origin["reason"]) == ("unmatched_reply", "no_ticket")
    assert origin["thread_ticket"] == reply.ticket_id
    assert origin["thread_message_id"] == "news-7@shop.example" and owner["data"]["text"].startswith("我的蓝牙耳机坏了")
    assert mail_lifecycle.on_classified(classified.value, 0) == []  # a repeated promotion collapses here


def test_a_reply_whose_thread_request_arrives_within_the_hold_applies_to_that_ticket(mail_lifecycle, classifier):
    reply = mail_reply()
    mail_lifecycle.on_action(reply.model_dump_json().encode(), 0)
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(channel="email", key="news-7@shop.example"), "email")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    assert classified.key.decode() == reply.ticket_id
    mail_lifecycle.on_classified(classified.value, 0)
    assert reply.action_id in mail_lifecycle.store.get(reply.ticket_id).recent_action_ids
    later = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD + 1)
    assert [output for output in later if output.topic == "t.raw.email"] == []


def test_the_timer_records_a_promotion_in_the_changelog_only_once_acknowledged(mail_lifecycle):
    reply = mail_reply()
    mail_lifecycle.on_action(reply.model_dump_json().encode(), 0)
    store = mail_lifecycle.store
    store.writes.clear()
    deferred: list[tuple[int, str]] = []
    assert len(mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD, deferred=deferred)) == 1
    assert store.writes == [] and deferred == [(0, reply.ticket_id)]


def test_a_promotion_repeated_after_a_crash_carries_the_same_ids(mail_lifecycle, routing, short_policies):
    mail_lifecycle.on_action(mail_reply().model_dump_json().encode(), 0)
    saved = dict(mail_lifecycle.store.states)  # the changelog: the promotion was never acknowledged
    (first,) = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD, deferred=[])
    restarted = MemoryTicketStore()
    restarted.states = saved
    stage = LifecycleStage(
        CATALOG,
        routing=routing,
        policies=short_policies,
        store=restarted,
        index=DeadlineIndex(),
        open_tickets=OpenTickets(),
        reply_hold_seconds=REPLY_HOLD,
    )
    list(stage.rebuild_in_steps({0}, lambda ticket: 0))
    (again,) = stage.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    assert (again.key, again.value) == (first.key, first.value)


def test_a_reply_to_a_closed_ticket_becomes_a_request_at_once(mail_lifecycle, classifier):
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(channel="email", key="news-7@shop.example"), "email")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    mail_lifecycle.on_classified(classified.value, 0)
    ticket_id = classified.key.decode()
    mail_lifecycle.on_action(action_record(ticket_id, "close", 60, "A-close"), 0)
    before = _promoted_total("ticket_closed")
    outputs = mail_lifecycle.on_action(mail_reply().model_dump_json().encode(), 0)
    (promoted,) = [RawEnvelope.model_validate_json(o.value) for o in outputs if o.topic == "t.raw.email"]
    assert orjson.loads(promoted.body)["origin"]["thread_ticket"] == ticket_id
    assert _promoted_total("ticket_closed") == before + 1


def test_a_follow_up_to_the_answer_on_a_promoted_reply_moves_the_promoted_ticket(mail_lifecycle, classifier):
    mail_lifecycle.on_action(mail_reply().model_dump_json().encode(), 0)
    (promoted,) = mail_lifecycle.fire_due(0, NOW.timestamp() + REPLY_HOLD)
    (normalized,) = NormalizeStage(CATALOG).process(promoted.value, "email")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    mail_lifecycle.on_classified(classified.value, 0)
    ticket = classified.key.decode()

    from streams.adapters import email
    from tests.adapters import mails

    conversation = "<news-7@shop.example> <reply-1@mail.example.cn> <agent-answer@desk.shop.example>"
    raw = mails.reply(
        "<agent-answer@desk.shop.example>",
        message_id="<reply-2@mail.example.cn>",
        text="还是不能充电",
        references=conversation,
    )
    (follow_up,) = email.mail_intake(raw, NOW).actions
    (forwarded,) = mail_lifecycle.on_action(follow_up.model_dump_json().encode(), 0)
    assert forwarded.topic == "t.tickets.actions" and forwarded.key == ticket.encode()
    mail_lifecycle.on_action(forwarded.value, 0)
    assert mail_lifecycle.store.get(ticket).last_action == TicketAction.model_validate_json(forwarded.value).action_id
    later = mail_lifecycle.fire_due(0, NOW.timestamp() + 3 * REPLY_HOLD)
    assert [output for output in later if output.topic == "t.raw.email"] == []  # nothing else is promoted


CHAT_HOLD = 120.0


@pytest.fixture
def chat_lifecycle(routing, short_policies):
    return lifecycle_owning_partition_0(
        routing, short_policies, reply_hold_seconds=REPLY_HOLD, chat_reply_hold_seconds=CHAT_HOLD
    )


def chat_follow_up(message_id="m-2", seq=2, text="我的订单还没发货，请帮我查一下", sent=NOW) -> TicketAction:
    import json

    from streams.adapters import webhook
    from streams.adapters.base import HttpInput
    from tests.adapters import platforms

    secret = b"webchat-secret-0123456789"
    body = json.dumps(
        {
            "conversation_id": "cv-orphan",
            "message_id": message_id,
            "seq": seq,
            "text": text,
            "sent_at": sent.isoformat(),
            "visitor": {"visitor_id": "v-8"},
        },
        ensure_ascii=False,
    ).encode()
    call = HttpInput.of(
        "POST", {}, platforms.signed_headers(secret, body, int(NOW.timestamp())), body, received_at=sent
    )
    (action,) = webhook.accept("webchat", call, secret).actions
    return action


def _through_normalize_and_classify(promoted, classifier):
    (normalized,) = NormalizeStage(CATALOG).process(promoted.value, "webchat")
    (classified,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    return classified


def test_a_web_chat_follow_up_without_its_conversation_becomes_one_request_after_the_chat_hold(chat_lifecycle):
    follow_up = chat_follow_up()
    before = _promoted_total(channel="webchat")
    assert chat_lifecycle.on_action(follow_up.model_dump_json().encode(), 0) == []
    assert chat_lifecycle.fire_due(0, NOW.timestamp() + CHAT_HOLD - 1) == []
    (output,) = chat_lifecycle.fire_due(0, NOW.timestamp() + CHAT_HOLD)
    envelope = RawEnvelope.model_validate_json(output.value)
    assert output.topic == "t.raw.webchat" and envelope.adapter == "webchat-reply/v1"
    assert envelope.ticket_id == follow_up.ticket_id == ids.ticket_id("webchat", "cv-orphan")
    assert _promoted_total(channel="webchat") == before + 1
    assert chat_lifecycle.fire_due(0, NOW.timestamp() + 3 * CHAT_HOLD) == []  # a second timer pass
    assert chat_lifecycle.on_action(follow_up.model_dump_json().encode(), 0) == []  # a redelivery


def test_a_promoted_follow_up_opens_the_conversation_ticket_with_its_origin_and_later_messages_apply(
    chat_lifecycle, classifier
):
    first, second = chat_follow_up(), chat_follow_up("m-3", 3, "还有发票", NOW + timedelta(seconds=30))
    chat_lifecycle.on_action(first.model_dump_json().encode(), 0)
    chat_lifecycle.on_action(second.model_dump_json().encode(), 0)
    (promoted,) = chat_lifecycle.fire_due(0, NOW.timestamp() + CHAT_HOLD + 30)  # both waited: one request
    classified = _through_normalize_and_classify(promoted, classifier)
    outputs = chat_lifecycle.on_classified(classified.value, 0)
    (owner,) = [
        event
        for event in (orjson.loads(o.value) for o in outputs if o.topic.startswith("t.dept."))
        if event["data"]["role"] == "owner"
    ]
    assert owner["subject"] == first.ticket_id and owner["data"]["text"].startswith("我的订单还没发货")
    assert (owner["data"]["origin"]["reason"], owner["data"]["origin"]["thread_ticket"]) == (
        "no_ticket",
        first.ticket_id,
    )
    state = chat_lifecycle.store.get(first.ticket_id)
    assert state.origin.reply_action_id == first.action_id and state.last_action == second.action_id
    third = chat_follow_up("m-4", 4, "在吗", NOW + timedelta(seconds=200))
    chat_lifecycle.on_action(third.model_dump_json().encode(), 0)
    assert chat_lifecycle.store.get(first.ticket_id).last_action == third.action_id
    assert chat_lifecycle.on_classified(classified.value, 0) == []  # a repeated promotion collapses here


def test_an_opening_message_that_arrives_after_its_follow_up_opened_the_ticket_reaches_the_ticket_once(
    chat_lifecycle, classifier
):
    follow_up = chat_follow_up()
    chat_lifecycle.on_action(follow_up.model_dump_json().encode(), 0)
    (promoted,) = chat_lifecycle.fire_due(0, NOW.timestamp() + CHAT_HOLD)
    chat_lifecycle.on_classified(_through_normalize_and_classify(promoted, classifier).value, 0)
    # seq 1, delayed in a lagging stage: same conversation, hence the same request id.
    opening = raw_record(text="你好，想问一下订单2026051300123", channel="webchat", key="cv-orphan")
    (normalized,) = NormalizeStage(CATALOG).process(opening, "webchat")
    (late,) = ClassifyStage(CATALOG, classifier).process(normalized.value)
    (passed_on,) = chat_lifecycle.on_classified(late.value, 0)
    action = TicketAction.model_validate_json(passed_on.value)
    assert passed_on.topic == "t.tickets.actions" and action.ticket_id == follow_up.ticket_id
    assert action.type == "customer_reply" and action.note.endswith("你好，想问一下订单2026051300123")
    chat_lifecycle.on_action(passed_on.value, 0)
    assert chat_lifecycle.store.get(follow_up.ticket_id).last_action == action.action_id
    assert chat_lifecycle.on_classified(late.value, 0) == []  # a redelivery of it adds nothing
