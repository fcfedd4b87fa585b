"""The SMTP intake as a mail server sees it: smtplib delivering real mail to aiosmtpd on a
free 127.0.0.1 port."""

from __future__ import annotations

import smtplib

import pytest

from streams import ids
from streams.catalog import TopicCatalog
from streams.gateway.intake import IntakeSink
from streams.gateway.smtp import start_smtp
from streams.transport.broker import free_port
from tests.adapters import mails
from tests.gateway.loops import LoopThread
from tests.gateway.recording import RecordingPublisher


@pytest.fixture
def smtp():
    publisher = RecordingPublisher()
    port = free_port()
    with LoopThread() as loop:
        server = loop.run(start_smtp(IntakeSink(publisher, TopicCatalog()), "127.0.0.1", port, max_bytes=64 * 1024))
        yield publisher, port

        async def close() -> None:  # in the server's own loop
            server.close()
            await server.wait_closed()

        loop.run(close())


def send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("customer@example.cn", ["support@shop.example"], raw)


def test_gbk_multipart_mail_is_published_to_raw_email_as_received(smtp):
    publisher, port = smtp
    raw = mails.multipart_gbk()
    send(port, raw)
    ((key, envelope),) = publisher.on("raw.email")
    assert envelope["ticket_id"] == ids.ticket_id("email", "gbk-1@mail.example.cn")
    assert envelope["adapter"] == "email-smtp/v1"
    assert envelope["body"].replace("\r\n", "\n").strip() == raw.decode().strip()  # SMTP puts CRLF on the wire
    assert key.startswith(b"CUS-")


def test_utf8_mail_with_attachment_is_published(smtp):
    publisher, port = smtp
    send(port, mails.multipart_utf8_with_attachment())
    assert [e["idempotency_key"] for _, e in publisher.on("raw.email")] == ["utf8-1@mail.example.com"]


def test_eight_bit_gbk_mail_survives_byte_for_byte(smtp):
    publisher, port = smtp
    send(port, mails.eight_bit_gbk())
    ((_, envelope),) = publisher.on("raw.email")
    assert envelope["content_type"].endswith("transfer-encoding=base64")


def test_reply_is_a_customer_reply_on_the_first_mails_ticket(smtp):
    publisher, port = smtp
    send(port, mails.multipart_gbk())
    send(port, mails.reply("<gbk-1@mail.example.cn>"))
    assert len(publisher.on("raw.email")) == 1
    ((key, action),) = publisher.on("tickets.actions")
    assert key == ids.ticket_id("email", "gbk-1@mail.example.cn").encode() and action["type"] == "customer_reply"


def test_the_same_mail_delivered_twice_is_published_once(smtp):
    publisher, port = smtp
    send(port, mails.multipart_gbk())
    send(port, mails.multipart_gbk())
    assert len(publisher.on("raw.email")) == 1


def test_mail_that_cannot_be_a_request_bounces_with_550_and_is_kept(smtp):
    publisher, port = smtp
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(port, b"Subject: no sender\r\n\r\nhello\r\n")
    assert refused.value.smtp_code == 550 and b"invalid_mail" in refused.value.smtp_error
    ((_, record),) = publisher.on("requests.invalid")
    assert record["error_code"] == "invalid_mail" and "no sender" in record["raw_value"]


def test_mail_over_the_size_limit_is_refused(smtp):
    _, port = smtp
    with pytest.raises(smtplib.SMTPResponseException) as refused:
        send(port, b"From: a@b.cn\r\nSubject: big\r\n\r\n" + b"x" * (70 * 1024) + b"\r\n")
    assert refused.value.smtp_code == 552


def test_broker_down_is_a_temporary_failure_so_the_sender_retries(smtp):
    publisher, port = smtp
    publisher.fail = True
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(port, mails.multipart_gbk())
    assert deferred.value.smtp_code == 451
    publisher.fail = False
    send(port, mails.multipart_gbk())
    assert len(publisher.on("raw.email")) == 1
