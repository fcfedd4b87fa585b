import json
from datetime import UTC, datetime

import orjson

from streams import ids
from streams.adapters import webhook
from streams.adapters.base import HttpInput, Intake, Refusal
from tests.adapters import platforms

SECRET = b"app-secret-0123456789"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FEEDBACK = {
    "feedback_id": "fb-1",
    "user": {"user_id": "U7", "phone": "13800001111"},
    "content": "APP闪退",
    "category": "bug",
    "created_at": "2026-11-22T16:55:00+08:00",
}


def call(body: dict | bytes, headers: dict | None = None, *, secret=SECRET, at=NOW):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    if headers is None:
        headers = platforms.signed_headers(secret, raw, int(at.timestamp()))
    return HttpInput.of("POST", {}, headers, raw, received_at=at)


def test_signed_feedback_is_accepted_with_the_feedback_id_as_key():
    intake = webhook.accept("app", call(FEEDBACK), SECRET)
    assert isinstance(intake, Intake)
    assert intake.idempotency_key == "fb-1" and intake.request_id == ids.request_id("app", "fb-1")
    assert json.loads(intake.body) == FEEDBACK


def test_wrong_signature_is_refused_and_not_kept():
    headers = platforms.signed_headers(b"someone-else-secret!", json.dumps(FEEDBACK).encode(), int(NOW.timestamp()))
    refusal = webhook.accept("app", call(FEEDBACK, headers), SECRET)
    assert (refusal.status, refusal.error_code, refusal.publish) == (401, "bad_signature", False)


def test_body_changed_after_signing_is_refused():
    headers = platforms.signed_headers(SECRET, json.dumps(FEEDBACK).encode(), int(NOW.timestamp()))
    changed = {**FEEDBACK, "content": "changed"}
    assert webhook.accept("app", call(changed, headers), SECRET).error_code == "bad_signature"


def test_missing_signature_is_refused():
    refusal = webhook.accept("app", call(FEEDBACK, {"Content-Type": "application/json"}), SECRET)
    assert (refusal.status, refusal.error_code) == (401, "missing_signature")


def test_call_signed_more_than_five_minutes_ago_is_a_refused_replay():
    raw = json.dumps(FEEDBACK).encode()
    old = platforms.signed_headers(SECRET, raw, int(NOW.timestamp()) - 301)
    refusal = webhook.accept("app", call(raw, old), SECRET)
    assert (refusal.status, refusal.error_code, refusal.publish) == (401, "stale_timestamp", False)


def test_call_signed_within_the_window_is_accepted():
    raw = json.dumps(FEEDBACK).encode()
    recent = platforms.signed_headers(SECRET, raw, int(NOW.timestamp()) - 290)
    assert isinstance(webhook.accept("app", call(raw, recent), SECRET), Intake)


def test_channel_without_a_secret_is_not_configured():
    assert webhook.accept("app", call(FEEDBACK), None).error_code == "channel_not_configured"


def test_verified_body_with_wrong_fields_is_kept_for_replay_with_the_field_named():
    refusal = webhook.accept("app", call({"feedback_id": "x", "content": 42}), SECRET)
    assert isinstance(refusal, Refusal) and refusal.publish and refusal.status == 422
    assert refusal.rejection.errors[0]["field"] == "content"


def test_verified_body_that_is_not_json_is_a_400():
    refusal = webhook.accept("app", call(b"\xff{not json"), SECRET)
    assert (refusal.status, refusal.error_code, refusal.publish) == (400, "invalid_json", True)


def test_feedback_becomes_a_request_with_the_channel_timestamp():
    parsed = webhook.parse(webhook.accept("app", call(FEEDBACK), SECRET).envelope())
    assert parsed.submission.text == "APP闪退" and parsed.submission.customer.phone == "13800001111"
    assert parsed.submission.submitted_at == datetime(2026, 11, 22, 8, 55, tzinfo=UTC)


def test_first_web_chat_message_opens_the_conversation_ticket():
    message = {
        "conversation_id": "cv-9",
        "message_id": "m-1",
        "seq": 1,
        "text": "在吗？订单还没发货",
        "visitor": {"visitor_id": "v-3"},
    }
    intake = webhook.accept("webchat", call(message), SECRET)
    assert intake.publish_request and intake.ticket_id == ids.ticket_id("webchat", "cv-9")


def test_later_web_chat_message_is_a_customer_reply_on_that_ticket():
    message = {"conversation_id": "cv-9", "message_id": "m-2", "seq": 2, "text": "还有发票"}
    intake = webhook.accept("webchat", call(message), SECRET)
    assert not intake.publish_request
    (action,) = intake.actions
    assert (action.type, action.ticket_id, action.note) == (
        "customer_reply",
        ids.ticket_id("webchat", "cv-9"),
        "还有发票",
    )


FOLLOW_UP = {
    "conversation_id": "cv-9",
    "message_id": "m-2",
    "seq": 2,
    "text": "还有发票",
    "sent_at": "2026-11-22T16:58:00+08:00",
    "visitor": {"visitor_id": "v-3", "customer_number": "C77", "name": "王女士"},
}


def test_a_web_chat_follow_up_carries_the_request_that_would_open_its_conversation():
    (action,) = webhook.accept("webchat", call(FOLLOW_UP), SECRET).actions
    unmatched = action.unmatched
    assert (unmatched.channel, unmatched.idempotency_key) == ("webchat", "cv-9")
    assert unmatched.ticket_id == action.ticket_id == ids.ticket_id("webchat", "cv-9")
    assert unmatched.request_id == ids.request_id("webchat", "cv-9")  # what the opening message would have had


def test_a_web_chat_follow_up_request_has_the_message_text_visitor_and_time():
    (action,) = webhook.accept("webchat", call(FOLLOW_UP), SECRET).actions
    submission = action.unmatched.submission
    assert submission.text == "还有发票" and submission.customer.id == "C77" and submission.customer.name == "王女士"
    assert submission.submitted_at == datetime(2026, 11, 22, 8, 58, tzinfo=UTC)
    assert action.unmatched.sender_handle == "webchat-visitor:v-3" and action.unmatched.received_at == NOW


def test_a_web_chat_follow_up_keeps_its_own_key_for_a_request_after_its_ticket_closed():
    (action,) = webhook.accept("webchat", call(FOLLOW_UP), SECRET).actions
    assert action.unmatched.message_key == "cv-9:m-2" and action.unmatched.in_conversation
    assert action.unmatched.promoted_key("ticket_closed") == "cv-9:m-2"
    assert action.unmatched.promoted_key("no_ticket") == "cv-9"


def test_the_first_web_chat_message_is_a_request_not_a_held_reply():
    message = {**FOLLOW_UP, "seq": 1}
    intake = webhook.accept("webchat", call(message), SECRET)
    assert intake.publish_request and intake.actions == ()


def test_a_promoted_web_chat_follow_up_is_read_back_as_the_conversation_request_with_its_origin():
    from streams.adapters import parse_body, replies
    from streams.models import RequestOrigin

    (action,) = webhook.accept("webchat", call(FOLLOW_UP), SECRET).actions
    origin = RequestOrigin(
        reason="no_ticket",
        detail="the opening message never came",
        thread_ticket=action.ticket_id,
        reply_action_id=action.action_id,
    )
    _, envelope = replies.promoted_request(action.unmatched, origin)
    assert (envelope.channel, envelope.adapter, envelope.idempotency_key) == ("webchat", "webchat-reply/v1", "cv-9")
    assert envelope.ticket_id == ids.ticket_id("webchat", "cv-9") == action.ticket_id
    parsed = parse_body(envelope)
    assert parsed.submission.text == "还有发票" and parsed.origin == origin
    assert parsed.sender_handle == "webchat-visitor:v-3"


def test_a_web_chat_follow_up_promoted_after_its_ticket_closed_gets_ids_of_its_own():
    from streams.adapters import replies
    from streams.models import RequestOrigin

    (action,) = webhook.accept("webchat", call(FOLLOW_UP), SECRET).actions
    origin = RequestOrigin(
        reason="ticket_closed", detail="closed", thread_ticket=action.ticket_id, reply_action_id=action.action_id
    )
    _, envelope = replies.promoted_request(action.unmatched, origin)
    assert envelope.ticket_id == ids.ticket_id("webchat", "cv-9:m-2") != action.ticket_id
    assert envelope.request_id == ids.request_id("webchat", "cv-9:m-2")


def test_social_dm_is_one_customer_per_platform_account():
    dm = {"platform": "weibo", "message_id": "d1", "sender": {"user_id": "u-5", "nickname": "小王"}, "text": "退款呢"}
    parsed = webhook.parse(webhook.accept("social", call(dm), SECRET).envelope())
    assert parsed.sender_handle == "social:weibo:u-5" and parsed.submission.customer.name == "小王"


def test_vip_report_marks_the_customer_vip_and_needs_the_customer_named():
    report = {
        "report_id": "r1",
        "manager": {"id": "am-1"},
        "customer": {"customer_number": "C1"},
        "summary": "加急退款",
    }
    parsed = webhook.parse(webhook.accept("vip", call(report), SECRET).envelope())
    assert parsed.submission.customer.tier == "vip" and parsed.submission.customer.id == "C1"
    anonymous = {**report, "customer": {}}
    assert webhook.accept("vip", call(anonymous), SECRET).rejection.errors[0]["field"] == "customer"


def test_sign_matches_the_documented_construction():
    expected = platforms.signed_headers(SECRET, b"{}", 1700000000)["X-Ticketflow-Signature"]
    assert webhook.sign(SECRET, "1700000000", b"{}") == expected


def test_unknown_fields_from_a_newer_sender_are_ignored_but_kept_in_the_record():
    body = {**FEEDBACK, "device": {"model": "X"}}
    intake = webhook.accept("app", call(body), SECRET)
    assert orjson.loads(intake.body)["device"] == {"model": "X"}
    assert webhook.parse(intake.envelope()).submission.text == "APP闪退"
