from datetime import UTC, datetime, timedelta

import pytest

from streams import ids
from streams.adapters import wecom
from streams.adapters.base import HttpInput, Intake, Refusal, Reply, Skip
from streams.domain.rejections import Rejection
from tests.adapters import platforms

CRYPTO = wecom.WeComCrypto.create(platforms.WECOM_TOKEN, platforms.WECOM_AES_KEY, platforms.WECOM_CORP_ID)


def post(query, body, received_at=None):
    return HttpInput.of("POST", query, {"Content-Type": "text/xml"}, body, received_at)


def signed_at(query) -> datetime:
    """The moment a documented vector was signed: it is received then, not years later."""
    return datetime.fromtimestamp(int(query["timestamp"]), UTC)


def test_documented_message_vector_is_verified_decrypted_and_kept_as_decrypted_xml():
    query = platforms.KNOWN_MESSAGE_QUERY
    intake = wecom.accept(post(query, platforms.KNOWN_MESSAGE_BODY, signed_at(query)), CRYPTO)
    assert isinstance(intake, Intake)
    assert intake.idempotency_key == "4561255354251345929"
    assert intake.body.startswith("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>")
    assert "<Content><![CDATA[hello]]></Content>" in intake.body and "Encrypt" not in intake.body
    assert intake.sender.wecom_id == "mycreate" and intake.content_type == "application/xml"
    assert intake.reply == Reply(200, "")


def test_documented_url_verification_vector_answers_the_decrypted_echostr():
    query = platforms.KNOWN_VERIFY
    answer = wecom.verify_url(HttpInput.of("GET", query, {}, b"", signed_at(query)), CRYPTO)
    assert answer == Reply(200, "1616140317555161061")


def test_a_correctly_signed_call_replayed_after_the_allowed_age_is_refused_and_not_kept():
    query = platforms.KNOWN_MESSAGE_QUERY
    later = signed_at(query) + timedelta(minutes=6)
    refusal = wecom.accept(post(query, platforms.KNOWN_MESSAGE_BODY, later), CRYPTO)
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.error_code, refusal.publish) == (401, "stale_timestamp", False)


def test_a_call_signed_within_the_allowed_age_is_accepted():
    query = platforms.KNOWN_MESSAGE_QUERY
    later = signed_at(query) + timedelta(minutes=4)
    assert isinstance(wecom.accept(post(query, platforms.KNOWN_MESSAGE_BODY, later), CRYPTO), Intake)
    assert isinstance(
        wecom.accept(post(query, platforms.KNOWN_MESSAGE_BODY, later), CRYPTO, timedelta(minutes=3)), Refusal
    )


def test_a_url_verification_with_an_old_timestamp_is_refused():
    query = platforms.KNOWN_VERIFY
    answer = wecom.verify_url(HttpInput.of("GET", query, {}, b"", signed_at(query) + timedelta(hours=1)), CRYPTO)
    assert isinstance(answer, Refusal) and answer.error_code == "stale_timestamp"


def test_signature_of_the_documented_vector_is_the_documented_one():
    encrypted = platforms.KNOWN_MESSAGE_BODY.split(b"<Encrypt><![CDATA[")[1].split(b"]]>")[0].decode()
    query = platforms.KNOWN_MESSAGE_QUERY
    assert (
        wecom.signature(platforms.WECOM_TOKEN, query["timestamp"], query["nonce"], encrypted) == query["msg_signature"]
    )


def test_message_encrypted_as_the_platform_does_is_accepted_with_its_msg_id():
    query, body = platforms.wecom_post(platforms.wecom_text_message("订单破损，要求退货", msg_id="9001"))
    intake = wecom.accept(post(query, body), CRYPTO)
    assert isinstance(intake, Intake)
    assert intake.idempotency_key == "9001" and intake.ticket_id == ids.ticket_id("wecom", "9001")


def test_a_tampered_signature_is_an_authentication_failure_that_is_not_kept():
    query, body = platforms.wecom_post(platforms.wecom_text_message("hi"))
    refusal = wecom.accept(post({**query, "msg_signature": "0" * 40}, body), CRYPTO)
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.error_code, refusal.publish) == (401, "bad_signature", False)


def test_missing_query_parameters_are_refused_as_unsigned():
    _, body = platforms.wecom_post(platforms.wecom_text_message("hi"))
    refusal = wecom.accept(post({}, body), CRYPTO)
    assert (refusal.status, refusal.error_code, refusal.publish) == (401, "missing_signature", False)


def test_a_message_encrypted_for_another_corp_is_forbidden():
    query, body = platforms.wecom_post(platforms.wecom_text_message("hi"), corp_id="ww_other_corp")
    refusal = wecom.accept(post(query, body), CRYPTO)
    assert (refusal.status, refusal.error_code, refusal.publish) == (403, "wrong_receiver", False)


def test_a_message_encrypted_with_another_key_does_not_open():
    other_key = "A" * 43
    query, body = platforms.wecom_post(platforms.wecom_text_message("hi"), aes_key=other_key)
    refusal = wecom.accept(post(query, body), CRYPTO)
    assert isinstance(refusal, Refusal) and refusal.status == 401 and not refusal.publish


def test_broken_outer_xml_is_refused_and_not_kept():
    refusal = wecom.accept(post(platforms.KNOWN_MESSAGE_QUERY, b"<xml><Encrypt>"), CRYPTO)
    assert (refusal.status, refusal.error_code, refusal.publish) == (400, "invalid_xml", False)


def test_verified_but_broken_inner_xml_is_kept_decrypted_for_replay():
    query, body = platforms.wecom_post(b"<xml><MsgType>text</MsgType")
    refusal = wecom.accept(post(query, body), CRYPTO)
    assert (refusal.status, refusal.error_code, refusal.publish) == (400, "invalid_xml", True)
    assert refusal.raw == b"<xml><MsgType>text</MsgType"


def test_doctype_declarations_are_refused():
    assert isinstance(wecom.parse_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>'), Rejection)


def test_text_message_becomes_a_request_from_the_wecom_user_at_create_time():
    query, body = platforms.wecom_post(platforms.wecom_text_message("APP闪退", sender="lisi", created=1763800000))
    parsed = wecom.parse(wecom.accept(post(query, body), CRYPTO).envelope())
    assert parsed.submission.text == "APP闪退" and parsed.submission.customer.wecom_id == "lisi"
    assert parsed.submission.submitted_at == datetime.fromtimestamp(1763800000, UTC)


def test_an_event_is_kept_in_the_log_but_is_not_a_request():
    event = platforms.wecom_text_message("", msg_type="event", extra="<Event><![CDATA[enter_agent]]></Event>")
    query, body = platforms.wecom_post(event)
    intake = wecom.accept(post(query, body), CRYPTO)
    assert isinstance(intake, Intake) and intake.idempotency_key.startswith("sha256:")
    assert isinstance(wecom.parse(intake.envelope()), Skip)


def test_image_message_is_a_request_naming_the_picture():
    image = platforms.wecom_text_message(
        "", msg_type="image", extra="<PicUrl>https://p/1.jpg</PicUrl><MsgId>55</MsgId>"
    )
    query, body = platforms.wecom_post(image)
    parsed = wecom.parse(wecom.accept(post(query, body), CRYPTO).envelope())
    assert "https://p/1.jpg" in parsed.submission.text


def test_encrypt_is_the_inverse_of_decrypt():
    sealed = CRYPTO.encrypt("回复".encode(), b"0123456789abcdef")
    assert CRYPTO.decrypt(sealed) == ("回复".encode(), platforms.WECOM_CORP_ID)


@pytest.mark.parametrize("key", ["short", "=" * 43, "a" * 44])
def test_malformed_encoding_aes_key_is_refused(key):
    with pytest.raises(ValueError, match="43 characters"):
        wecom.aes_key_from_encoding_key(key)
