"""Signed JSON webhooks: app feedback, web chat, social DMs and VIP account managers (and the
hotline's CTI events, see cti.py).

Every call carries two headers:

    X-Ticketflow-Timestamp: 1763804400            (unix seconds, when the sender signed)
    X-Ticketflow-Signature: sha256=<hex>          HMAC-SHA256(secret, "<timestamp>." + body)

The secret is per channel. A missing or wrong signature is refused with 401, a timestamp
more than five minutes away from our clock (a replay, or a badly wrong clock) with 401 too;
nothing of such a call is published. The signature covers the timestamp, so an old call
cannot be replayed with a fresh one.

Each channel has its own body (the fields its sender really has); each names its own
message id, which becomes the idempotency key, so a redelivery collapses into one ticket.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from streams import ids
from streams.adapters.base import (
    HttpInput,
    Intake,
    Parsed,
    Refusal,
    authentication_failure,
    clamp_to,
    load_json_object,
)
from streams.domain.rejections import Rejection, describe_validation_error
from streams.models import (
    CustomerRef,
    CustomerTier,
    RawEnvelope,
    RequestSubmission,
    TicketAction,
    UnmatchedReply,
    UtcDatetime,
)

TIMESTAMP_HEADER = "x-ticketflow-timestamp"
SIGNATURE_HEADER = "x-ticketflow-signature"
DEFAULT_MAX_AGE = timedelta(minutes=5)
ADAPTER = "webhook/v1"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for a body (what a sender computes)."""
    return "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(request: HttpInput, secret: bytes | None, max_age: timedelta = DEFAULT_MAX_AGE) -> Refusal | None:
    """None when the call is signed with the channel's secret within the allowed age."""
    if not secret:
        return authentication_failure("channel_not_configured", "no secret is configured for this channel", 403)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature:
        return authentication_failure(
            "missing_signature", f"the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required"
        )
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return authentication_failure("bad_signature", f"{TIMESTAMP_HEADER} must be unix seconds")
    if not hmac.compare_digest(
        sign(secret, timestamp, request.body).encode(), signature.strip().encode("utf-8", "replace")
    ):
        return authentication_failure("bad_signature", "the signature does not match the body and timestamp")
    skew = abs(request.received_at.timestamp() - int(timestamp))
    if skew > max_age.total_seconds():
        return authentication_failure(
            "stale_timestamp",
            f"signed {skew:.0f}s away from our clock; at most {max_age.total_seconds():.0f}s is accepted (replay?)",
        )
    return None


# -- the channels' bodies ------------------------------------------------------------------------


class _Body(BaseModel):
    # Senders add fields over time; unknown ones are kept in the raw record and ignored here.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


_Text = Field(min_length=1, max_length=20_000)
_Id = Field(min_length=1, max_length=200)


class AppUser(_Body):
    user_id: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=256)


class AppFeedback(_Body):
    """In-app feedback (the app's feedback SDK)."""

    feedback_id: str = _Id
    user: AppUser = Field(default_factory=AppUser)
    content: str = _Text
    category: str | None = Field(default=None, max_length=64)
    app_version: str | None = Field(default=None, max_length=32)
    platform: str | None = Field(default=None, max_length=32)
    screenshots: list[str] = Field(default_factory=list, max_length=20)
    created_at: UtcDatetime | None = None


class Visitor(_Body):
    visitor_id: str | None = Field(default=None, max_length=128)
    customer_number: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=256)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)


class WebChatMessage(_Body):
    """A visitor's message in a web chat conversation. `seq` 1 opens the conversation (a new
    ticket); later messages of the conversation are the customer replying on that ticket. A
    later message also carries the request it would be had it opened the conversation
    (`TicketAction.unmatched`): when the opening message never became a ticket (refused as
    invalid, sent before Ticketflow was connected, its webhook lost), the lifecycle lets the
    earliest waiting follow-up open the conversation's ticket after a short hold
    (`TICKETFLOW_WEBCHAT_REPLY_HOLD_MINUTES`) — nothing the customer writes is lost."""

    conversation_id: str = _Id
    message_id: str = _Id
    seq: int = Field(default=1, ge=1, le=1_000_000)
    visitor: Visitor = Field(default_factory=Visitor)
    text: str = _Text
    sent_at: UtcDatetime | None = None


class SocialSender(_Body):
    user_id: str = Field(min_length=1, max_length=128)
    nickname: str | None = Field(default=None, max_length=256)
    phone: str | None = Field(default=None, max_length=64)


class SocialMessage(_Body):
    """A direct message to the brand's account on a social platform."""

    platform: Literal["weibo", "douyin", "xiaohongshu", "wechat_official", "other"] = "other"
    message_id: str = _Id
    sender: SocialSender
    text: str = _Text
    sent_at: UtcDatetime | None = None


class VipManager(_Body):
    id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=256)


class VipCustomer(_Body):
    customer_number: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=256)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)


class VipReport(_Body):
    """A request a VIP's account manager files on the customer's behalf."""

    report_id: str = _Id
    manager: VipManager
    customer: VipCustomer = Field(default_factory=VipCustomer)
    summary: str = Field(min_length=1, max_length=1_000)
    details: str | None = Field(default=None, max_length=20_000)
    reported_at: UtcDatetime | None = None

    @field_validator("customer")
    @classmethod
    def _identified(cls, value: VipCustomer) -> VipCustomer:
        if not (value.customer_number or value.phone or value.email):
            raise ValueError("a VIP report names the customer: customer_number, phone or email")
        return value


# -- from a body to an intake (at the edge) and to a request (in normalize) ---------------------


def _app(doc: AppFeedback) -> tuple[str, CustomerRef, str | None, RequestSubmission]:
    user = doc.user
    customer = CustomerRef(id=None, name=user.name, phone=user.phone, email=user.email)
    handle = f"app-user:{user.user_id}" if user.user_id else None
    subject = "App feedback" + (f" ({doc.category})" if doc.category else "")
    text = doc.content
    if doc.screenshots:
        text += "\n" + "\n".join(f"[screenshot] {url}" for url in doc.screenshots)
    return (
        doc.feedback_id,
        customer,
        handle,
        RequestSubmission(customer=customer, text=text[:20_000], subject=subject, submitted_at=doc.created_at),
    )


def _webchat(doc: WebChatMessage) -> tuple[str, CustomerRef, str | None, RequestSubmission]:
    visitor = doc.visitor
    customer = CustomerRef(id=visitor.customer_number, name=visitor.name, phone=visitor.phone, email=visitor.email)
    handle = f"webchat-visitor:{visitor.visitor_id}" if visitor.visitor_id else None
    return (
        doc.conversation_id,
        customer,
        handle,
        RequestSubmission(customer=customer, text=doc.text, subject=None, submitted_at=doc.sent_at),
    )


def _social(doc: SocialMessage) -> tuple[str, CustomerRef, str | None, RequestSubmission]:
    customer = CustomerRef(name=doc.sender.nickname, phone=doc.sender.phone)
    handle = f"social:{doc.platform}:{doc.sender.user_id}"
    return (
        f"{doc.platform}:{doc.message_id}",
        customer,
        handle,
        RequestSubmission(customer=customer, text=doc.text, subject=f"{doc.platform} DM", submitted_at=doc.sent_at),
    )


def _vip(doc: VipReport) -> tuple[str, CustomerRef, str | None, RequestSubmission]:
    person = doc.customer
    tier: CustomerTier = "vip"
    customer = CustomerRef(
        id=person.customer_number, name=person.name, phone=person.phone, email=person.email, tier=tier
    )
    text = doc.summary + (f"\n\n{doc.details}" if doc.details else "")
    return (
        doc.report_id,
        customer,
        None,
        RequestSubmission(
            customer=customer, text=text[:20_000], subject=doc.summary[:1_000], submitted_at=doc.reported_at
        ),
    )


CHANNELS = {
    "app": (AppFeedback, _app),
    "webchat": (WebChatMessage, _webchat),
    "social": (SocialMessage, _social),
    "vip": (VipReport, _vip),
}


def _validate(channel: str, body: bytes | str) -> tuple[Any, tuple] | Rejection:
    document = load_json_object(body)
    if isinstance(document, Rejection):
        return document
    model, understand = CHANNELS[channel]
    try:
        doc = model.model_validate(document)
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        return Rejection("invalid_request", reason, details)
    return doc, understand(doc)


def accept(
    channel: str, request: HttpInput, secret: bytes | None, max_age: timedelta = DEFAULT_MAX_AGE
) -> Intake | Refusal:
    """A signed webhook call → the intake for raw.<channel> (or a web chat reply action)."""
    refused = verify_signature(request, secret, max_age)
    if refused is not None:
        return refused
    result = _validate(channel, request.body)
    if isinstance(result, Rejection):
        status = 400 if result.error_code == "invalid_json" else 422
        return Refusal(status, result, publish=True, raw=request.body)
    doc, (key, customer, handle, submission) = result
    body = request.body.decode("utf-8")  # valid JSON is UTF-8
    if isinstance(doc, WebChatMessage) and doc.seq > 1:
        ticket = ids.ticket_id(channel, doc.conversation_id)
        message_key = f"{doc.conversation_id}:{doc.message_id}"
        # The request this message is if the conversation's opening message never became a ticket.
        unmatched = UnmatchedReply(
            channel="webchat",
            idempotency_key=doc.conversation_id,
            received_at=request.received_at,
            message_key=message_key,
            sender_handle=handle,
            submission=submission,
        )
        action = TicketAction(
            action_id=ids.action_id(ticket, f"webchat:{doc.message_id}"),
            ticket_id=ticket,
            type="customer_reply",
            by="customer",
            at=clamp_to(doc.sent_at, request.received_at),
            channel="webchat",
            note=doc.text[:2_000],
            unmatched=unmatched,
        )
        return Intake(
            channel=channel,
            adapter=ADAPTER,
            idempotency_key=message_key,
            content_type="application/json",
            body=body,
            received_at=request.received_at,
            sender=customer,
            sender_handle=handle,
            ticket_key=doc.conversation_id,
            publish_request=False,
            actions=(action,),
        )
    return Intake(
        channel=channel,
        adapter=ADAPTER,
        idempotency_key=key,
        content_type="application/json",
        body=body,
        received_at=request.received_at,
        sender=customer,
        sender_handle=handle,
    )


def parse(envelope: RawEnvelope) -> Parsed | Rejection:
    """A webhook record on raw.<channel> → the request it carries."""
    if envelope.channel not in CHANNELS:
        return Rejection("invalid_envelope", f"adapter {ADAPTER} does not serve channel {envelope.channel!r}")
    result = _validate(envelope.channel, envelope.body)
    if isinstance(result, Rejection):
        return result
    _, (_, _, handle, submission) = result
    return Parsed(submission, sender_handle=handle)
