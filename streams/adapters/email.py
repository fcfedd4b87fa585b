"""E-mail: RFC 5322 messages as the SMTP server or the IMAP poller received them.

Parsed with the standard library: multipart bodies (text/plain preferred, HTML-only mail
turned into text), quoted-printable and base64 transfer encodings, GB2312/GBK/GB18030/Big5/
UTF-8 charsets (GB2312 and GBK are read as their superset GB18030, since mail clients label
GBK text as GB2312), and RFC 2047 encoded headers.

- Idempotency key: the Message-ID (a redelivered or re-polled mail is the same request).
- Threading: a reply is not a new ticket. A subject carrying a ticket id (`TKT-…`) names the
  ticket; otherwise the root of `References` (or `In-Reply-To`) is the Message-ID of the mail
  that opened the ticket, whose id is `ticket_id("email", that Message-ID)`. Replies become
  `customer_reply` actions on tickets.actions (they resume a paused clock), not raw.email.
- Unmatched replies: the edge cannot see the tickets table, so it cannot tell whether the mail
  a reply answers ever became a ticket (a customer answering a mailing, a mail sent from a CRM,
  a thread from before Ticketflow, a reply-all to a thread we never saw, or a ticket closed
  and retired long ago). So every reply's action also carries the request the mail would be
  on its own (`TicketAction.unmatched`: the parsed submission, the reply's Message-ID, the
  thread's first Message-ID). The lifecycle, which holds the tickets, decides: the ticket
  exists → the reply applies to it; the ticket is closed → the reply becomes a new request at
  once; no ticket turns up within `TICKETFLOW_EMAIL_REPLY_HOLD_MINUTES` → it becomes a new
  request then. It publishes that request to raw.email (`promoted_reply`, adapter
  `email-reply/v1`, a JSON body: the submission and its origin) with the ids the mail would
  have had as a new request, so a repeat collapses, and normalize reads it back
  (`parse_promoted_reply`) like any intake — the topology gains no new path into the
  classifier. The request's ticket records its origin: why, and the thread's ticket and
  Message-ID, for the agent to see the context. A later reply in that request's conversation
  (its References name the promoted reply) is passed on to the promoted ticket by the
  thread's state in the lifecycle.
- What is kept on raw.email is the message exactly as received (`message/rfc822`; base64
  with a marker in the content type when it is not UTF-8, e.g. 8-bit GBK); a promoted reply
  is the parsed request (the reply's text, subject, sender and date), since the full mail
  would have had to wait in the tickets table.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

import lxml.etree
import lxml.html
from pydantic import ValidationError

from streams import ids
from streams.adapters import replies
from streams.adapters.base import (
    Intake,
    Parsed,
    Refusal,
    clamp_to,
    digest_key,
    envelope_bytes,
    invalid,
    text_body,
)
from streams.domain import timestamps
from streams.domain.rejections import Rejection, describe_validation_error
from streams.models import (
    CustomerRef,
    RawEnvelope,
    RequestSubmission,
    TicketAction,
    UnmatchedReply,
)

CONTENT_TYPE = "message/rfc822"
SMTP_ADAPTER = "email-smtp/v1"
IMAP_ADAPTER = "email-imap/v1"
# A reply whose ticket was not found, published by the lifecycle as a request of its own.
REPLY_ADAPTER = replies.adapter_for("email")  # email-reply/v1
REPLY_CONTENT_TYPE = replies.CONTENT_TYPE
TICKET_IN_SUBJECT = re.compile(r"\bTKT-[A-Z2-7]{16}\b")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs",
}
_MAX_TEXT = 20_000
# Bounds on the work one mail may cost (docs/operations.md): the HTML parsed, the MIME parts
# walked, the length of a header decoded.
MAX_MARKUP_CHARS = 256 * 1024
MAX_PARTS = 100
MAX_HEADER_CHARS = 8 * 1024
MAX_PARAMETER_HEADER_CHARS = 2 * 1024  # a part whose Content-Type/-Disposition is longer is not read
_PARAMETER_HEADERS = ("Content-Type", "Content-Disposition")
_MAX_TEXT_PIECES = 50_000
_BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
_SKIP = {"script", "style", "head", "title"}
_HTML_PARSER = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)


@dataclass(frozen=True)
class Mail:
    message_id: str | None
    subject: str
    from_name: str | None
    from_address: str | None
    date: datetime | None
    text: str
    references: tuple[str, ...]  # References then In-Reply-To, oldest first
    attachments: tuple[str, ...]

    @property
    def thread_message_id(self) -> str | None:
        """Message-ID of the thread's first mail, when the thread is found by its references."""
        if TICKET_IN_SUBJECT.search(self.subject) or not self.references:
            return None
        return self.references[0]

    @property
    def thread_ticket(self) -> str | None:
        """The ticket this mail answers, or None when it opens a new one."""
        found = TICKET_IN_SUBJECT.search(self.subject)
        if found:
            return found.group(0)
        if self.references:
            return ids.ticket_id("email", self.references[0])
        return None


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body. libxml2's parser (lxml) is linear in its input and
    caps nesting depth; only the first `MAX_MARKUP_CHARS` are parsed (the request keeps at most
    20,000 characters of text anyway), so the work per mail is bounded (docs/operations.md)."""
    markup = markup[:MAX_MARKUP_CHARS]
    if not markup.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(markup, parser=_HTML_PARSER)
    except (lxml.etree.ParserError, ValueError):  # nothing but comments or whitespace, or hopeless bytes
        return ""
    parts: list[str] = []
    skipping = 0
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _SKIP:
                skipping += 1
            elif tag in _BREAKS:
                parts.append("\n")
            if not skipping and element.text:
                parts.append(element.text)
            continue
        if tag in _SKIP:
            skipping -= 1
        elif tag in _BREAKS and tag != "br":
            parts.append("\n")
        if not skipping and element.tail:
            parts.append(element.tail)
        if len(parts) > _MAX_TEXT_PIECES:
            break
    text = "".join(parts)
    return re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t\xa0]+", " ", text)).strip()


def _decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b""
    if not isinstance(payload, bytes):
        payload = str(payload).encode("utf-8", "replace")
    declared = (part.get_content_charset() or "").lower()
    for charset in (_CHARSET_ALIASES.get(declared, declared), "utf-8", "gb18030"):
        if not charset:
            continue
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", "replace")


def _body_text(message: Message) -> tuple[str, tuple[str, ...]]:
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[str] = []
    for number, part in enumerate(message.walk() if message.is_multipart() else [message]):
        if number >= MAX_PARTS:  # the rest of a mail of hundreds of parts is not read
            break
        if part.is_multipart():
            continue
        if any(len(str(part.get(name, ""))) > MAX_PARAMETER_HEADER_CHARS for name in _PARAMETER_HEADERS):
            attachments.append("[unreadable part: oversized Content-Type or Content-Disposition]")
            continue
        disposition = _raw_header(part, "Content-Disposition").split(";")[0].strip().lower()
        filename = part.get_filename()
        if disposition == "attachment" or (filename and disposition != "inline"):
            attachments.append(str(filename or part.get_content_type()))
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            plain.append(_decode_part(part))
        elif kind == "text/html":
            markup.append(_decode_part(part))
    if any(text.strip() for text in plain):
        text = "\n\n".join(text.strip() for text in plain if text.strip())
    else:
        text = "\n\n".join(html_to_text(item) for item in markup)
    return text.strip(), tuple(attachments)


def _raw_header(message: Message, name: str) -> str:
    """A header as it was sent (unfolded, at most MAX_HEADER_CHARS), "" when absent."""
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a malformed header must not stop the mail
        return ""
    if value is None:
        return ""
    return re.sub(r"\s+", " ", str(value)[:MAX_HEADER_CHARS]).strip()


def _header(message: Message, name: str) -> str:
    """A header with its RFC 2047 encoded words decoded. The message is parsed with the compat32
    policy, whose header handling is linear: the modern policy's header parser is quadratic on
    crafted parameter lists (a 34 KB Content-Type took 1.5 s)."""
    raw = _raw_header(message, name)
    if "=?" not in raw:
        return raw
    try:
        decoded = str(make_header(decode_header(raw)))
    except Exception:  # noqa: BLE001 - an undecodable encoded word keeps its raw form
        return raw
    return re.sub(r"\s+", " ", decoded).strip()


def _message_ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


def parse_mail(raw: bytes) -> Mail | Rejection:
    """An RFC 5322 message → the fields a request needs, or why it cannot be one."""
    if not raw.strip():
        return Rejection("invalid_mail", "the message is empty")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the parser should not raise, but never trust it
        return Rejection("invalid_mail", f"the message cannot be parsed: {type(exc).__name__}: {exc}")
    try:
        text, attachments = _body_text(message)
    except Exception as exc:  # noqa: BLE001 - broken MIME structure
        return Rejection("invalid_mail", f"the body cannot be decoded: {type(exc).__name__}: {exc}")
    subject = _header(message, "Subject")
    name, address = None, None
    addresses = getaddresses([_header(message, "From")])
    if addresses and addresses[0][1] and "@" in addresses[0][1]:
        name, address = addresses[0][0] or None, addresses[0][1].strip().lower()[:320]
    if address is None:
        return Rejection("invalid_mail", "the message has no usable From address")
    if not text and not subject:
        return Rejection("invalid_mail", "the message has neither a subject nor a readable text body")
    date = None
    if date_header := _header(message, "Date"):
        try:
            date = timestamps.to_utc(parsedate_to_datetime(date_header))
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None  # a mail is never refused for its Date: the clock starts when it was received
    own = _message_ids(_header(message, "Message-ID"))
    references = _message_ids(_header(message, "References")) + _message_ids(_header(message, "In-Reply-To"))
    return Mail(
        message_id=own[0] if own else None,
        subject=subject[:1_000],
        from_name=(name or None) and name[:256],
        from_address=address,
        date=date,
        text=text,
        references=tuple(dict.fromkeys(ref for ref in references if ref not in own)),
        attachments=attachments,
    )


def mail_intake(raw: bytes, received_at: datetime, adapter: str = SMTP_ADAPTER) -> Intake | Refusal:
    """A received mail → a new request on raw.email, or a customer_reply on its ticket."""
    mail = parse_mail(raw)
    if isinstance(mail, Rejection):
        return invalid(mail.error_code, mail.reason, raw)
    key = mail.message_id or digest_key("mail", raw)
    sender = CustomerRef(name=mail.from_name, email=mail.from_address)
    body, content_type = text_body(raw, CONTENT_TYPE)
    ticket = mail.thread_ticket
    if ticket is None:
        return Intake(
            channel="email",
            adapter=adapter,
            idempotency_key=key,
            content_type=content_type,
            body=body,
            received_at=received_at,
            sender=sender,
        )
    note = (mail.text or mail.subject)[:2_000]
    unmatched = None
    submission = _submission(mail)
    if isinstance(submission, RequestSubmission):
        unmatched = UnmatchedReply(
            idempotency_key=key,
            received_at=received_at,
            thread_message_id=mail.thread_message_id,
            references=list(mail.references[-20:]),
            submission=submission,
        )
    action = TicketAction(
        action_id=ids.action_id(ticket, f"email:{key}"),
        ticket_id=ticket,
        type="customer_reply",
        by="customer",
        at=clamp_to(mail.date, received_at),
        channel="email",
        note=note,
        unmatched=unmatched,
    )
    return Intake(
        channel="email",
        adapter=adapter,
        idempotency_key=key,
        content_type=content_type,
        body=body,
        received_at=received_at,
        sender=sender,
        publish_request=False,
        actions=(action,),
    )


def _submission(mail: Mail) -> RequestSubmission | Rejection:
    """The request a mail is: its text (attachments listed by name), subject, sender and date."""
    text = mail.text or mail.subject
    if mail.attachments:
        text += "\n" + "\n".join(f"[attachment] {name}" for name in mail.attachments[:20])
    customer = CustomerRef(name=mail.from_name, email=mail.from_address)
    try:
        return RequestSubmission(
            customer=customer, text=text[:_MAX_TEXT], subject=mail.subject or None, submitted_at=mail.date
        )
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        return Rejection("invalid_mail", f"the mail is not a request: {reason}", details)


def parse(envelope: RawEnvelope) -> Parsed | Rejection:
    try:
        raw = envelope_bytes(envelope)
    except ValueError as exc:
        return Rejection("invalid_envelope", f"body marked base64 is not base64: {exc}")
    mail = parse_mail(raw)
    if isinstance(mail, Rejection):
        return mail
    submission = _submission(mail)
    if isinstance(submission, Rejection):
        return submission
    return Parsed(submission)
