from datetime import UTC, datetime

from streams import ids
from streams.adapters import email, replies
from streams.adapters.base import Intake, Refusal, envelope_bytes
from streams.domain.rejections import Rejection
from tests.adapters import mails

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_gbk_multipart_mail_is_read_with_its_encoded_headers():
    mail = email.parse_mail(mails.multipart_gbk())
    assert (mail.subject, mail.from_name, mail.from_address) == ("投诉：商品破损", "王女士", "wang@example.cn")
    assert mail.text == "订单20261122的蓝牙耳机收到时破损，要求换货。"
    assert mail.message_id == "gbk-1@mail.example.cn" and mail.date == mails.WHEN


def test_utf8_mail_lists_attachments_without_reading_them_as_text():
    mail = email.parse_mail(mails.multipart_utf8_with_attachment())
    assert mail.subject == "App crashes — 急" and mail.text.startswith("The app crashes on login")
    assert mail.attachments == ("crash.log",) and "log line" not in mail.text


def test_eight_bit_gbk_labelled_gb2312_is_decoded_and_kept_byte_for_byte():
    raw = mails.eight_bit_gbk()
    intake = email.mail_intake(raw, NOW)
    assert intake.content_type == "message/rfc822; transfer-encoding=base64"
    assert envelope_bytes(intake.envelope()) == raw
    parsed = email.parse(intake.envelope())
    assert parsed.submission.text == "请问积分什么时候到账？镕" and parsed.submission.customer.name == "李先生"


def test_html_only_quoted_printable_mail_becomes_plain_text():
    mail = email.parse_mail(mails.quoted_printable_html_only())
    assert "I want a 退款 refund" in mail.text and "order 42" in mail.text
    assert "alert" not in mail.text and "color" not in mail.text


def test_new_mail_is_a_request_keyed_by_its_message_id():
    intake = email.mail_intake(mails.multipart_gbk(), NOW)
    assert isinstance(intake, Intake) and intake.publish_request
    assert intake.ticket_id == ids.ticket_id("email", "gbk-1@mail.example.cn")
    parsed = email.parse(intake.envelope())
    assert parsed.submission.subject == "投诉：商品破损" and parsed.submission.customer.email == "wang@example.cn"


def test_reply_threads_to_the_ticket_of_the_first_mail_as_a_customer_reply():
    intake = email.mail_intake(mails.reply("<gbk-1@mail.example.cn>"), NOW)
    assert not intake.publish_request
    (action,) = intake.actions
    assert (action.type, action.ticket_id) == ("customer_reply", ids.ticket_id("email", "gbk-1@mail.example.cn"))
    assert action.note == "照片已补充，请尽快处理" and action.by == "customer"


def test_reply_deep_in_a_thread_goes_to_the_ticket_of_the_thread_root():
    references = "<gbk-1@mail.example.cn> <agent-answer@shop.example>"
    intake = email.mail_intake(mails.reply("<agent-answer@shop.example>", references=references), NOW)
    assert intake.actions[0].ticket_id == ids.ticket_id("email", "gbk-1@mail.example.cn")


def test_ticket_id_in_the_subject_threads_without_references():
    raw = b"From: a@b.cn\r\nSubject: Re: [TKT-ABCDEFGHIJKLMNOP] refund\r\nMessage-ID: <x@b.cn>\r\n\r\nstill waiting\r\n"
    assert email.mail_intake(raw, NOW).actions[0].ticket_id == "TKT-ABCDEFGHIJKLMNOP"


def test_redelivered_reply_gives_the_same_action_id():
    first = email.mail_intake(mails.reply("<gbk-1@mail.example.cn>"), NOW)
    again = email.mail_intake(mails.reply("<gbk-1@mail.example.cn>"), NOW)
    assert first.actions[0].action_id == again.actions[0].action_id


def test_mail_without_message_id_gets_a_key_from_its_bytes():
    raw = b"From: a@b.cn\r\nSubject: hi\r\n\r\nhello\r\n"
    assert email.mail_intake(raw, NOW).idempotency_key == email.mail_intake(raw, NOW).idempotency_key
    assert email.mail_intake(raw, NOW).idempotency_key.startswith("sha256:")


def test_mail_without_a_from_address_is_refused_and_kept():
    refusal = email.mail_intake(b"Subject: hi\r\n\r\nhello\r\n", NOW)
    assert isinstance(refusal, Refusal) and refusal.publish and refusal.error_code == "invalid_mail"


def test_mail_with_nothing_to_read_is_refused():
    assert isinstance(email.parse_mail(b"From: a@b.cn\r\n\r\n\r\n"), Rejection)


def test_reply_carries_the_request_it_becomes_if_its_ticket_is_not_found():
    intake = email.mail_intake(mails.reply("<gbk-1@mail.example.cn>", text="另外，我想退掉上周买的耳机"), NOW)
    unmatched = intake.actions[0].unmatched
    assert unmatched.idempotency_key == "reply-1@mail.example.cn" and unmatched.received_at == NOW
    assert unmatched.thread_message_id == "gbk-1@mail.example.cn" and unmatched.references == ["gbk-1@mail.example.cn"]
    assert (
        unmatched.submission.text == "另外，我想退掉上周买的耳机"
        and unmatched.submission.customer.email == "wang@example.cn"
    )
    assert unmatched.ticket_id == ids.ticket_id("email", "reply-1@mail.example.cn")  # as if it had been a new mail


def test_reply_threaded_by_the_subject_names_no_thread_message():
    raw = b"From: a@b.cn\r\nSubject: Re: [TKT-ABCDEFGHIJKLMNOP] refund\r\nMessage-ID: <x@b.cn>\r\n\r\nstill waiting\r\n"
    assert email.mail_intake(raw, NOW).actions[0].unmatched.thread_message_id is None


def _promoted(reason="no_ticket"):
    from streams.models import RequestOrigin

    action = email.mail_intake(mails.reply("<news-7@shop.example>", text="你们的会员怎么取消？"), NOW).actions[0]
    origin = RequestOrigin(
        reason=reason,
        detail="no ticket turned up",
        thread_ticket=action.ticket_id,
        thread_message_id="news-7@shop.example",
        reply_action_id=action.action_id,
    )
    return replies.promoted_request(action.unmatched, origin)


def test_promoted_reply_is_a_raw_email_record_with_the_ids_of_a_new_mail():
    key, envelope = _promoted()
    assert (envelope.channel, envelope.adapter) == ("email", "email-reply/v1")
    assert envelope.content_type == "application/json"
    assert envelope.request_id == ids.request_id("email", "reply-1@mail.example.cn")
    assert envelope.ticket_id == ids.ticket_id("email", "reply-1@mail.example.cn")
    sender = ids.customer_id_for(explicit_id=None, phone=None, email="wang@example.cn", wecom_id=None, fallback="")
    assert key == sender[0]


def test_promoted_reply_is_read_back_as_the_request_with_its_origin():
    from streams.adapters import parse_body

    _, envelope = _promoted()
    parsed = parse_body(envelope)
    assert parsed.submission.text == "你们的会员怎么取消？" and parsed.submission.subject == "Re: 投诉：商品破损"
    assert parsed.origin.thread_ticket == ids.ticket_id("email", "news-7@shop.example")


def test_promoted_reply_with_a_broken_body_is_rejected_with_the_reason():
    _, envelope = _promoted()
    broken = envelope.model_copy(update={"body": '{"submission": {}}'})
    rejection = replies.parse(broken)
    assert isinstance(rejection, Rejection) and rejection.error_code == "invalid_request"
    assert "submission.text" in rejection.reason
