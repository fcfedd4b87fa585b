"""The SMTP intake as a mail server sees it: smtplib delivering real mail to aiosmtpd on a
free 127.0.0.1 port (plain, with STARTTLS, and behind a peer allowlist)."""

from __future__ import annotations

import contextlib
import smtplib
import ssl

import pytest
from prometheus_client import REGISTRY

from streams import ids
from streams.catalog import TopicCatalog
from streams.gateway.intake import IntakeSink
from streams.gateway.smtp import start_smtp
from streams.settings import Settings
from streams.transport.broker import free_port
from tests import tls
from tests.adapters import mails
from tests.gateway.loops import LoopThread
from tests.gateway.recording import RecordingPublisher


@contextlib.contextmanager
def running_smtp(settings: Settings | None = None):
    """The SMTP intake as the gateway starts it from these settings (defaults: no TLS, any peer)."""
    settings = settings or Settings()
    publisher = RecordingPublisher()
    port = free_port()
    with LoopThread() as loop:
        tls_context = settings.smtp_tls_context()
        server = loop.run(
            start_smtp(
                IntakeSink(publisher, TopicCatalog()),
                "127.0.0.1",
                port,
                max_bytes=64 * 1024,
                tls_context=tls_context,
                require_tls=settings.smtp_requires_tls,
                allowed_peers=settings.smtp_allowed_networks,
            )
        )
        try:
            yield publisher, port
        finally:

            async def close() -> None:  # in the server's own loop
                server.close()
                await server.wait_closed()

            loop.run(close())


@pytest.fixture
def smtp():
    with running_smtp() as running:
        yield running


@pytest.fixture
def certificate(tmp_path):
    return tls.self_signed(tmp_path)


def client_trusting(cert) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def refusals(reason: str) -> float:
    return REGISTRY.get_sample_value("ticketflow_smtp_refused_total", {"reason": reason}) or 0.0


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


def test_mail_sent_after_starttls_is_accepted_and_published(certificate):
    cert, key = certificate
    with running_smtp(Settings(smtp_tls_cert=cert, smtp_tls_key=key)) as (publisher, port):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            client.starttls(context=client_trusting(cert))
            client.sendmail("customer@example.cn", ["support@shop.example"], mails.multipart_gbk())
        assert [e["idempotency_key"] for _, e in publisher.on("raw.email")] == ["gbk-1@mail.example.cn"]


def test_mail_before_starttls_is_refused_with_530_when_tls_is_required(certificate):
    cert, key = certificate
    with running_smtp(Settings(smtp_tls_cert=cert, smtp_tls_key=key)) as (publisher, port):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            code, _ = client.mail("customer@example.cn")
        assert code == 530 and publisher.on("raw.email") == []


def test_starttls_can_be_offered_without_being_required(certificate):
    cert, key = certificate
    with running_smtp(Settings(smtp_tls_cert=cert, smtp_tls_key=key, smtp_require_tls=False)) as (publisher, port):
        send(port, mails.multipart_gbk())
        assert len(publisher.on("raw.email")) == 1


def test_peer_outside_the_allowed_networks_is_refused_with_554_and_counted():
    before = refusals("peer_not_allowed")
    with running_smtp(Settings(smtp_allowed_peers="10.0.0.0/8")) as (publisher, port):
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            send(port, mails.multipart_gbk())
        assert refused.value.smtp_code == 554 and publisher.on("raw.email") == []
    assert refusals("peer_not_allowed") == before + 1


def test_peer_inside_the_allowed_networks_delivers():
    with running_smtp(Settings(smtp_allowed_peers="10.0.0.0/8, 127.0.0.0/8")) as (publisher, port):
        send(port, mails.multipart_gbk())
        assert len(publisher.on("raw.email")) == 1


@contextlib.contextmanager
def limited_smtp(**limits):
    from streams.gateway.smtp import SmtpLimits

    publisher = RecordingPublisher()
    port = free_port()
    with LoopThread() as loop:
        sink = IntakeSink(publisher, TopicCatalog(), max_record_bytes=limits.pop("max_record_bytes", 1_000_000))
        server = loop.run(start_smtp(sink, "127.0.0.1", port, max_bytes=256 * 1024, limits=SmtpLimits(**limits)))
        try:
            yield publisher, port
        finally:

            async def close() -> None:
                server.close()
                await server.wait_closed()

            loop.run(close())


def test_recipients_over_the_cap_are_refused_with_452():
    with limited_smtp(max_recipients=3) as (publisher, port), smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail("a@b.cn")
        codes = [client.rcpt(f"r{number}@shop.example")[0] for number in range(5)]
    assert codes == [250, 250, 250, 452, 452]


def test_sessions_over_the_connection_cap_get_421():
    with limited_smtp(max_connections=1) as (_, port), smtplib.SMTP("127.0.0.1", port, timeout=10) as first:
        first.ehlo()
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", port, timeout=10)
        assert refused.value.smtp_code == 421
        assert first.noop()[0] == 250


def test_a_peer_opening_sessions_too_fast_gets_421():
    with limited_smtp(peer_connections_per_minute=2) as (_, port):
        for _ in range(2):
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.noop()
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", port, timeout=10)
    assert refused.value.smtp_code == 421


def test_a_mail_whose_record_would_exceed_the_broker_limit_is_refused_for_good_with_552():
    raw = (
        b"From: a@b.cn\r\nSubject: big\r\nMessage-ID: <big@b.cn>\r\nContent-Type: text/plain; charset=gbk\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + ("订单" * 40 + "\r\n").encode("gbk") * 800
    )
    with (
        limited_smtp(max_record_bytes=100_000) as (publisher, port),
        smtplib.SMTP("127.0.0.1", port, timeout=10) as client,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        client.sendmail("a@b.cn", ["support@shop.example"], raw)
    assert refused.value.smtp_code == 552
    ((_, record),) = publisher.on("requests.invalid")
    assert record["error_code"] == "body_too_large" and "first" in record["reason"]
    assert publisher.on("raw.email") == []


def test_the_event_loop_stays_responsive_while_a_crafted_mail_is_parsed():
    import asyncio
    import threading
    import time

    raw = b"From: a@b.cn\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n" + (b"<br>x" * 150 + b"\r\n") * 330
    publisher = RecordingPublisher()
    port = free_port()
    with LoopThread() as loop:
        server = loop.run(start_smtp(IntakeSink(publisher, TopicCatalog()), "127.0.0.1", port, max_bytes=300 * 1024))
        gaps: list[float] = []
        stop = threading.Event()

        async def heartbeat():
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beating = asyncio.run_coroutine_threadsafe(heartbeat(), loop.loop)
        try:
            for number in range(3):
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                    client.sendmail(
                        "a@b.cn", ["support@shop.example"], raw.replace(b"Subject: x", f"Subject: x{number}".encode())
                    )
        finally:
            stop.set()
            beating.result(5)

            async def close() -> None:
                server.close()
                await server.wait_closed()

            loop.run(close())
    assert len(publisher.on("raw.email")) == 3
    assert max(gaps) < 0.08, f"the loop stalled for {max(gaps):.3f}s"
