"""The IMAP poller against a real Dovecot on 127.0.0.1: mails are appended with the standard
library's imaplib, as any mail client delivers them, and polled with aioimaplib."""

from __future__ import annotations

import asyncio
import imaplib
import shutil
import tempfile
from pathlib import Path

import pytest

from streams import ids
from streams.catalog import TopicCatalog
from streams.gateway.imap import ImapError, ImapPoller
from streams.gateway.intake import IntakeSink
from tests.adapters import mails
from tests.gateway import dovecot
from tests.gateway.recording import RecordingPublisher


@pytest.fixture(scope="module")
def server():
    # Not pytest's tmp_path: Dovecot's unprivileged processes must be able to reach the directory.
    directory = Path(tempfile.mkdtemp(prefix="ticketflow-dovecot-"))
    try:
        running = dovecot.start_dovecot(directory)
    except RuntimeError as exc:  # a clear failure, never a skip
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(str(exc))
    yield running
    running.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def mailbox(server):
    """A fresh mailbox per test (created with imaplib), and a function to deliver into it."""
    name = f"Support{id(object())}"
    client = imaplib.IMAP4("127.0.0.1", server.port)
    client.login(dovecot.USER, dovecot.PASSWORD)
    client.create(name)

    def deliver(raw: bytes) -> None:
        status, _ = client.append(name, None, None, raw)
        assert status == "OK"

    yield name, deliver
    client.logout()


def poller(server, mailbox_name, publisher, **overrides) -> ImapPoller:
    values = dict(
        sink=IntakeSink(publisher, TopicCatalog()),
        host="127.0.0.1",
        port=server.port,
        user=dovecot.USER,
        password=dovecot.PASSWORD,
        mailbox=mailbox_name,
        ssl=False,
        timeout=10,
    )
    values.update(overrides)
    return ImapPoller(**values)


def test_unseen_mails_are_published_and_marked_seen(server, mailbox):
    name, deliver = mailbox
    deliver(mails.multipart_gbk())
    deliver(mails.eight_bit_gbk())
    publisher = RecordingPublisher()
    result = asyncio.run(poller(server, name, publisher).poll_once())
    assert (result.seen, result.accepted) == (2, 2)
    envelopes = [envelope for _, envelope in publisher.on("raw.email")]
    assert [e["idempotency_key"] for e in envelopes] == ["gbk-1@mail.example.cn", "8bit-1@example.cn"]
    assert {e["adapter"] for e in envelopes} == {"email-imap/v1"}
    again = asyncio.run(poller(server, name, publisher).poll_once())
    assert again.seen == 0 and len(publisher.on("raw.email")) == 2


def test_a_reply_in_the_mailbox_threads_to_its_ticket(server, mailbox):
    name, deliver = mailbox
    deliver(mails.reply("<gbk-1@mail.example.cn>"))
    publisher = RecordingPublisher()
    asyncio.run(poller(server, name, publisher).poll_once())
    ((key, action),) = publisher.on("tickets.actions")
    assert key == ids.ticket_id("email", "gbk-1@mail.example.cn").encode() and action["type"] == "customer_reply"


def test_broken_mail_is_kept_on_requests_invalid_and_not_taken_again(server, mailbox):
    name, deliver = mailbox
    deliver(b"Subject: nobody sent this\r\n\r\nhello\r\n")
    publisher = RecordingPublisher()
    result = asyncio.run(poller(server, name, publisher).poll_once())
    assert result.refused == 1 and publisher.on("requests.invalid")[0][1]["error_code"] == "invalid_mail"
    assert asyncio.run(poller(server, name, publisher).poll_once()).seen == 0


def test_while_the_broker_is_down_mail_stays_unseen_and_is_taken_later(server, mailbox):
    name, deliver = mailbox
    deliver(mails.multipart_utf8_with_attachment())
    publisher = RecordingPublisher(fail=True)
    assert asyncio.run(poller(server, name, publisher).poll_once()).retry == 1
    publisher.fail = False
    assert asyncio.run(poller(server, name, publisher).poll_once()).accepted == 1
    assert len(publisher.on("raw.email")) == 1


def test_mail_over_the_size_limit_is_refused_without_fetching_it(server, mailbox):
    name, deliver = mailbox
    deliver(b"From: a@b.cn\r\nSubject: big\r\nMessage-ID: <big@b.cn>\r\n\r\n" + b"x" * 9000 + b"\r\n")
    publisher = RecordingPublisher()
    result = asyncio.run(poller(server, name, publisher, max_bytes=4096).poll_once())
    assert result.refused == 1 and publisher.on("raw.email") == []
    assert publisher.on("requests.invalid")[0][1]["error_code"] == "body_too_large"


def test_wrong_password_is_a_clear_error(server, mailbox):
    name, _ = mailbox
    with pytest.raises(ImapError, match="login"):
        asyncio.run(poller(server, name, RecordingPublisher(), password="wrong").poll_once())


def test_a_refused_mail_whose_record_cannot_be_kept_stays_unseen(server, mailbox):
    name, deliver = mailbox
    deliver(b"Subject: nobody sent this either\r\n\r\nhello\r\n")
    publisher = RecordingPublisher(fail=True)
    assert asyncio.run(poller(server, name, publisher).poll_once()).retry == 1
    publisher.fail = False
    result = asyncio.run(poller(server, name, publisher).poll_once())
    assert result.refused == 1 and publisher.on("requests.invalid")[0][1]["error_code"] == "invalid_mail"


def test_a_poison_mail_is_kept_with_its_bytes_and_the_mails_after_it_are_taken(server, mailbox, monkeypatch):
    import streams.gateway.imap as imap_module

    name, deliver = mailbox
    poison = b"From: a@b.cn\r\nSubject: poison\r\nMessage-ID: <poison@b.cn>\r\n\r\nboom\r\n"
    deliver(poison)
    deliver(mails.multipart_gbk())
    real = imap_module.receive_mail

    async def receive(sink, raw, adapter):
        if b"poison" in raw:
            raise RuntimeError("a parser bug")
        return await real(sink, raw, adapter)

    monkeypatch.setattr(imap_module, "receive_mail", receive)
    publisher = RecordingPublisher()
    result = asyncio.run(poller(server, name, publisher).poll_once())
    assert (result.refused, result.accepted) == (1, 1)
    ((_, record),) = publisher.on("requests.invalid")
    assert record["error_code"] == "processing_error" and record["raw_value"].encode() == poison
    assert asyncio.run(poller(server, name, publisher).poll_once()).seen == 0
