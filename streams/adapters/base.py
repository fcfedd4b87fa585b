"""The one interface every channel adapter speaks.

At the edge an adapter turns what its channel sent (an HTTP call, a mail, a sheet row) into
an `Intake` — the envelope to publish on `raw.<channel>` and any ticket actions that come
with it — or a `Refusal` that says why not and whether the payload is kept on
`requests.invalid` (verified but unusable) or only counted (the sender could not be
verified). In the pipeline the same adapter turns the envelope's body back into a
`Parsed` request for the normalize stage, or a `Rejection`, or a `Skip` for records that
are part of the channel's log but not a customer request (a call being offered, a WeChat
Work event).

Pure: no faust, no Kafka client, no web framework. The gateway, the SMTP server, the IMAP
poller and the sheet import are the transports around these functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streams import ids
from streams.domain.identity import contact_customer_id
from streams.domain.rejections import Rejection
from streams.models import (
    CustomerRef,
    RawEnvelope,
    RequestOrigin,
    RequestSubmission,
    TicketAction,
)
from streams.records import utf8_or_base64

BASE64_PARAMETER = "transfer-encoding=base64"


@dataclass(frozen=True)
class HttpInput:
    """An HTTP call as an adapter sees it: header names in lower case, the body as bytes."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime

    @classmethod
    def of(
        cls,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime | None = None,
    ) -> HttpInput:
        return cls(
            method=method.upper(),
            query=dict(query),
            headers={name.lower(): value for name, value in headers.items()},
            body=body,
            received_at=received_at or datetime.now(UTC),
        )


@dataclass(frozen=True)
class Reply:
    """A protocol answer that is not an accepted request (WeChat Work's URL verification)."""

    status: int
    text: str
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Refusal:
    """The edge says no. `status` is the HTTP status (the SMTP server maps it to a reply code).

    `publish` is true when the payload was verified (or the channel does not sign) and is kept
    on requests.invalid with `raw` — the form worth replaying (for WeChat Work the decrypted
    XML, never the ciphertext or a key). Authentication failures have `publish` false.
    """

    status: int
    rejection: Rejection
    publish: bool
    raw: bytes = b""

    @property
    def error_code(self) -> str:
        return self.rejection.error_code


def authentication_failure(code: str, reason: str, status: int = 401) -> Refusal:
    return Refusal(status, Rejection(code, reason), publish=False)


def invalid(code: str, reason: str, raw: bytes, status: int = 422, errors: list | None = None) -> Refusal:
    return Refusal(status, Rejection(code, reason, errors or []), publish=True, raw=raw)


@dataclass(frozen=True)
class Intake:
    """What an adapter accepted: the envelope for raw.<channel> (unless `publish_request` is
    false, as for an e-mail reply that only moves an existing ticket) and ticket actions."""

    channel: str
    adapter: str
    idempotency_key: str
    content_type: str
    body: str
    received_at: datetime
    sender: CustomerRef = field(default_factory=CustomerRef)
    sender_handle: str | None = None  # a channel account (social user id…) when no contact id is known
    ticket_key: str | None = None  # what request and ticket ids derive from, when not the idempotency key
    publish_request: bool = True
    actions: tuple[TicketAction, ...] = ()
    reply: Reply | None = None  # the protocol's own success answer, when it has one
    key_namespace: str | None = None  # ids.CLIENT_KEYS for keys a client chose; None for native ids

    @property
    def request_id(self) -> str:
        return ids.request_id(self.channel, self.ticket_key or self.idempotency_key, self.key_namespace)

    @property
    def ticket_id(self) -> str:
        return ids.ticket_id(self.channel, self.ticket_key or self.idempotency_key, self.key_namespace)

    @property
    def cache_scope(self) -> str:
        """Where the gateway remembers this intake's idempotency key: per channel and namespace."""
        return self.channel if self.key_namespace is None else f"{self.channel}/{self.key_namespace}"

    def sender_id(self) -> str:
        """The record key on raw.<channel>: the customer as far as the edge can tell."""
        return contact_customer_id(self.sender, self.sender_handle or self.request_id)

    def envelope(self) -> RawEnvelope:
        return RawEnvelope(
            channel=self.channel,
            received_at=self.received_at,
            adapter=self.adapter,
            idempotency_key=self.idempotency_key,
            request_id=self.request_id,
            ticket_id=self.ticket_id,
            content_type=self.content_type,
            body=self.body,
        )


@dataclass(frozen=True)
class Parsed:
    """A raw record's body understood as a customer request."""

    submission: RequestSubmission
    sender_handle: str | None = None
    origin: RequestOrigin | None = None  # a reply whose ticket was not found (see adapters/email.py)


@dataclass(frozen=True)
class Skip:
    """A record of the channel's log that is not a customer request (counted, not rejected)."""

    kind: str
    reason: str


# -- helpers shared by the adapters -----------------------------------------------------------


def text_body(raw: bytes, content_type: str) -> tuple[str, str]:
    """The body to store in an envelope: the text itself when it is UTF-8, else base64 marked
    in the content type (so the exact bytes survive)."""
    text, is_base64 = utf8_or_base64(raw)
    return text, f"{content_type}; {BASE64_PARAMETER}" if is_base64 else content_type


def envelope_bytes(envelope: RawEnvelope) -> bytes:
    """The body exactly as received (undoing `text_body`)."""
    if BASE64_PARAMETER in envelope.content_type.replace(" ", "").lower():
        return base64.b64decode(envelope.body, validate=True)
    return envelope.body.encode("utf-8")


def load_json_object(body: bytes | str) -> dict[str, Any] | Rejection:
    """A body that must be one JSON object, or why it is not."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Rejection("invalid_json", f"body is not valid JSON: {exc}")
    if not isinstance(document, dict):
        return Rejection("invalid_request", f"body must be a JSON object, got {type(document).__name__}")
    return document


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def digest_key(*parts: str | bytes) -> str:
    """A stable idempotency key for payloads that carry no id of their own."""
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        sha.update(b"\x1f")
    return "sha256:" + sha.hexdigest()[:40]


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def clamp_to(moment: datetime | None, received_at: datetime, *, max_age: timedelta | None = None) -> datetime:
    """A channel's own timestamp, never after the moment we received it (clock skew)."""
    if moment is None:
        return received_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > received_at:
        return received_at
    if max_age is not None and received_at - moment > max_age:
        return received_at
    return moment
