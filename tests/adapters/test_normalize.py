from datetime import timedelta

import orjson

from streams import ids
from streams.adapters import replies
from streams.adapters.normalize import (
    Rejection,
    detect_language,
    normalize_record,
    parse_submission,
)
from streams.models import RawEnvelope
from tests.conftest import T0


def envelope(body: dict | str, channel: str = "app", **overrides) -> bytes:
    record = RawEnvelope(
        channel=channel,
        received_at=overrides.pop("received_at", T0),
        adapter="http-json/v1",
        idempotency_key="k-1",
        request_id=ids.request_id(channel, "k-1"),
        ticket_id=ids.ticket_id(channel, "k-1"),
        content_type=overrides.pop("content_type", "application/json"),
        body=body if isinstance(body, str) else orjson.dumps(body).decode(),
    )
    return record.model_dump_json().encode()


def test_valid_record_becomes_canonical_request_with_the_envelope_ids():
    result, env = normalize_record(envelope({"customer": {"phone": "+86 138 0000 0000"}, "text": " 我要退货 "}))
    assert not isinstance(result, Rejection)
    assert result.ticket_id == env.ticket_id and result.request_id == env.request_id
    assert result.text == "我要退货"
    assert result.language == "zh"
    assert result.submitted_at == T0  # defaults to the moment it was received


def test_same_phone_in_two_formats_is_one_customer():
    first, _ = normalize_record(envelope({"customer": {"phone": "+86 138-0000-0000"}, "text": "hi"}))
    second, _ = normalize_record(envelope({"customer": {"phone": "13800000000"}, "text": "hi"}, channel="phone"))
    assert first.customer_id == second.customer_id


def test_explicit_customer_number_wins_over_contact_ids():
    result, _ = normalize_record(envelope({"customer": {"id": "C42", "phone": "13800000000"}, "text": "hi"}))
    assert result.customer_id == "C42"


def test_channel_timestamp_is_kept_as_the_submit_time():
    submitted = T0 - timedelta(hours=3)
    result, _ = normalize_record(envelope({"text": "hi", "submitted_at": submitted.isoformat()}))
    assert result.submitted_at == submitted


def test_small_clock_skew_is_clamped_to_the_receive_time():
    result, _ = normalize_record(envelope({"text": "hi", "submitted_at": (T0 + timedelta(seconds=30)).isoformat()}))
    assert result.submitted_at == T0


def test_submit_time_far_in_the_future_starts_the_clock_at_receipt_and_keeps_the_request():
    # e.g. a local time sent without its zone: read as UTC it lies hours ahead
    result, _ = normalize_record(envelope({"text": "hi", "submitted_at": "2026-11-20T17:00:00"}))
    assert not isinstance(result, Rejection) and result.submitted_at == T0


def test_missing_text_names_the_field():
    result, env = normalize_record(envelope({"customer": {}}))
    assert isinstance(result, Rejection) and result.error_code == "invalid_request"
    assert "text" in result.reason and env is not None


def test_blank_text_is_rejected():
    result = parse_submission(b'{"text": "   "}')
    assert isinstance(result, Rejection) and "blank" in result.reason


def test_body_that_is_not_json_is_rejected_with_the_parser_message():
    result, _ = normalize_record(envelope("{not json"))
    assert isinstance(result, Rejection) and result.error_code == "invalid_json"


def test_record_that_is_not_an_envelope_is_rejected_without_an_envelope():
    result, env = normalize_record(b"\xff\xfe garbage")
    assert isinstance(result, Rejection) and result.error_code == "invalid_envelope" and env is None


def test_unsupported_content_type_is_rejected_not_guessed():
    result, _ = normalize_record(envelope("<xml/>", content_type="application/xml"))
    assert isinstance(result, Rejection) and result.error_code == "unsupported_content_type"


def test_detects_chinese_english_and_mixed_text():
    assert detect_language("我的订单还没到") == "zh"
    assert detect_language("Where is my order?") == "en"
    assert detect_language("我的 order 12345 still not arrived, please check 一下") == "mixed"
    assert detect_language("订单ABC123还没到货，请帮我查一下") == "zh"


def test_a_promoted_email_reply_becomes_a_request_that_keeps_its_origin():
    from streams.adapters import email
    from streams.models import RequestOrigin
    from tests.adapters import mails

    action = email.mail_intake(mails.reply("<news-7@shop.example>"), T0).actions[0]
    origin = RequestOrigin(
        reason="no_ticket",
        detail="no ticket turned up",
        thread_ticket=action.ticket_id,
        reply_action_id=action.action_id,
    )
    _, promoted = replies.promoted_request(action.unmatched, origin)
    result, _ = normalize_record(promoted.model_dump_json().encode())
    assert result.ticket_id == ids.ticket_id("email", "reply-1@mail.example.cn") and result.channel == "email"
    assert result.origin.reason == "no_ticket" and result.origin.thread_ticket == action.ticket_id
    assert result.text == "照片已补充，请尽快处理"
