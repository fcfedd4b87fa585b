"""The demo's senders speak each channel's protocol as the adapters verify and read it."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from streams import ids, senders
from streams.adapters import cti, email, webhook, wecom
from streams.adapters.base import HttpInput, Intake, Parsed, Refusal
from streams.simulator import SimulatedCall, SimulatedRequest
from tests.adapters.platforms import WECOM_AES_KEY, WECOM_CORP_ID, WECOM_TOKEN

SECRET = b"s3cret-for-the-senders-tests"
CRYPTO = wecom.WeComCrypto.create(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID)
SIGNED = ("app", "webchat", "social", "vip", "phone")
KEYS = senders.ChannelSecrets(dict.fromkeys(SIGNED, SECRET), CRYPTO, api_token="demo-token")
NOW = time.time()
CUSTOMER = {
    "id": "C100001",
    "name": "王芳",
    "phone": "+86 13812345678",
    "email": "wang@example.cn",
    "wecom_id": "wm00042",
    "tier": "vip",
}


def request(channel: str, key: str = "sim-0001", **fields) -> SimulatedRequest:  # noqa: ANN003
    payload = {
        "customer": CUSTOMER,
        "text": "订单123的蓝牙耳机收到时破损，申请换货。",
        "idempotency_key": key,
        "submitted_at": datetime.fromtimestamp(NOW - 2, UTC).isoformat(),
    }
    if channel == "email":
        payload["subject"] = "商品破损"
    return SimulatedRequest(channel, payload, None, "after_sales", "zh", **fields)


def http(call: senders.HttpCall, at: float = NOW) -> HttpInput:
    return HttpInput.of(call.method, call.query, call.headers, call.body, datetime.fromtimestamp(at, UTC))


def only(outbound: list[senders.Outbound]) -> senders.Outbound:
    assert len(outbound) == 1
    return outbound[0]


def test_a_webhook_call_verifies_with_the_channels_secret():
    call = only(senders.encode(request("app"), KEYS, NOW)).call
    assert webhook.verify_signature(http(call), SECRET) is None


def test_a_webhook_call_does_not_verify_with_another_secret():
    call = only(senders.encode(request("app"), KEYS, NOW)).call
    refusal = webhook.verify_signature(http(call), b"another-secret-of-16+chars")
    assert isinstance(refusal, Refusal) and refusal.error_code == "bad_signature"


@pytest.mark.parametrize("channel", ["app", "webchat", "social", "vip"])
def test_each_webhook_channel_body_is_accepted_and_opens_the_ticket_the_gateway_answers(channel):
    outbound = only(senders.encode(request(channel), KEYS, NOW))
    intake = webhook.accept(channel, http(outbound.call), SECRET)
    assert isinstance(intake, Intake) and intake.publish_request
    assert outbound.opens == intake.ticket_id


def test_a_vip_report_is_filed_for_the_customer_by_an_account_manager():
    outbound = only(senders.encode(request("vip"), KEYS, NOW))
    parsed = webhook.parse(webhook.accept("vip", http(outbound.call), SECRET).envelope())
    assert isinstance(parsed, Parsed) and parsed.submission.customer.tier == "vip"


def test_a_web_chat_follow_up_is_a_customer_reply_on_the_conversations_ticket():
    opening = only(senders.encode(request("webchat", "sim-open"), KEYS, NOW))
    follow_up = only(senders.encode(request("webchat", "sim-next", thread_key="sim-open", seq=2), KEYS, NOW))
    intake = webhook.accept("webchat", http(follow_up.call), SECRET)
    assert isinstance(intake, Intake) and not intake.publish_request
    assert [action.type for action in intake.actions] == ["customer_reply"]
    assert intake.actions[0].ticket_id == opening.opens == follow_up.follows_up


def test_a_hotline_call_is_offered_answered_and_wrapped_up_in_order():
    calls = senders.encode(request("phone", call=SimulatedCall("billing", "2", "agent-07", 12.0, 30.0)), KEYS, NOW)
    events = [cti.accept(http(item.call, item.at), SECRET) for item in calls]
    assert all(isinstance(event, Intake) for event in events)
    assert [cti.parse_event(event.body).event for event in events] == ["offered", "answered", "wrap_up"]
    assert [item.at for item in calls] == sorted(item.at for item in calls)


def test_the_wrap_up_opens_the_calls_ticket_with_the_agents_answer():
    calls = senders.encode(request("phone", call=SimulatedCall("billing", "2", "agent-07", 12.0, 30.0)), KEYS, NOW)
    wrap_up = cti.accept(http(calls[-1].call, calls[-1].at), SECRET)
    assert calls[-1].opens == wrap_up.ticket_id
    assert [action.type for action in wrap_up.actions] == ["reply"]


def test_a_long_queue_wait_is_reported_by_the_offered_time_not_waited_for():
    calls = senders.encode(request("phone", call=SimulatedCall("general", "1", "agent-01", 700.0, 20.0)), KEYS, NOW)
    answered = cti.parse_event(calls[1].call.body)
    assert calls[1].at - NOW <= 30
    assert cti.answer_wait(answered, None).seconds == pytest.approx(700, abs=1)


def test_an_abandoned_call_with_a_callback_request_becomes_a_request():
    call = SimulatedCall("general", "1", "agent-01", 20.0, 0.0, answered=False, callback_requested=True)
    calls = senders.encode(request("phone", call=call), KEYS, NOW)
    abandoned = cti.accept(http(calls[-1].call, calls[-1].at), SECRET)
    assert isinstance(cti.parse(abandoned.envelope()), Parsed)
    assert calls[-1].opens == abandoned.ticket_id


def test_a_wechat_work_callback_decrypts_to_the_customers_message():
    outbound = only(senders.encode(request("wecom"), KEYS, NOW))
    intake = wecom.accept(http(outbound.call), CRYPTO)
    assert isinstance(intake, Intake) and intake.sender.wecom_id == "wm00042"
    assert "蓝牙耳机" in wecom.parse(intake.envelope()).submission.text
    assert outbound.opens == intake.ticket_id


def test_a_wechat_work_callback_carries_neither_token_nor_key():
    call = only(senders.encode(request("wecom"), KEYS, NOW)).call
    wire = call.body + repr(call.query).encode()
    assert WECOM_TOKEN.encode() not in wire and WECOM_AES_KEY.encode() not in wire


def test_a_mail_parses_with_the_email_adapter():
    outbound = only(senders.encode(request("email"), KEYS, NOW))
    mail = email.parse_mail(outbound.call.message)
    assert (mail.from_address, mail.from_name, mail.subject) == ("wang@example.cn", "王芳", "商品破损")
    assert "蓝牙耳机" in mail.text
    assert outbound.opens == ids.ticket_id("email", mail.message_id)


def test_a_reply_mail_answers_the_first_mails_ticket():
    first = only(senders.encode(request("email", "sim-first"), KEYS, NOW))
    reply = only(senders.encode(request("email", "sim-reply", thread_key="sim-first", seq=2), KEYS, NOW))
    intake = email.mail_intake(reply.call.message, datetime.now(UTC))
    assert [action.type for action in intake.actions] == ["customer_reply"]
    assert intake.actions[0].ticket_id == first.opens == reply.follows_up


def test_a_malformed_webhook_body_is_signed_so_it_is_kept_as_invalid():
    broken = SimulatedRequest("social", None, b'{"customer": {}}', "invalid", "none")
    refusal = webhook.accept("social", http(only(senders.encode(broken, KEYS, NOW)).call), SECRET)
    assert isinstance(refusal, Refusal) and refusal.publish


def test_a_malformed_wechat_message_is_encrypted_so_it_is_kept_as_invalid():
    broken = SimulatedRequest("wecom", None, b"\xff\xfe not json", "invalid", "none")
    refusal = wecom.accept(http(only(senders.encode(broken, KEYS, NOW)).call), CRYPTO)
    assert isinstance(refusal, Refusal) and refusal.publish


def test_a_repeated_request_is_the_same_message_and_opens_nothing_new():
    original = request("social")
    first = only(senders.encode(original, KEYS, NOW))
    again = only(senders.encode(replace(original, duplicate_of=0), KEYS, NOW + 5))
    keys = [webhook.accept("social", http(item.call, item.at), SECRET).idempotency_key for item in (first, again)]
    assert keys[0] == keys[1] and again.opens is None


def test_a_repeated_call_is_its_last_event_delivered_again():
    original = request("phone", call=SimulatedCall("billing", "2", "agent-07", 12.0, 30.0))
    again = senders.encode(replace(original, duplicate_of=0), KEYS, NOW)
    assert [cti.parse_event(item.call.body).event for item in again] == ["wrap_up"]


def test_the_store_uses_the_generic_endpoint_with_the_api_token():
    call = only(senders.encode(request("store"), KEYS, NOW)).call
    assert call.path == "/v1/requests/store" and call.headers["Authorization"] == "Bearer demo-token"


def test_secrets_are_not_in_the_senders_repr():
    assert SECRET.decode() not in repr(KEYS) and "demo-token" not in repr(KEYS)
