"""Replies that became requests of their own (published by the lifecycle, read by normalize).

A customer's reply whose ticket is not found — an e-mail reply to a mail that never became a
ticket here, a web chat follow-up whose conversation's opening message never did, or either on
a closed ticket — is published by the lifecycle to its channel's raw topic as a request (see
`UnmatchedReply` in streams/models.py and docs/tickets.md). The record's adapter is
`<channel>-reply/v1` (`email-reply/v1`, `webchat-reply/v1`); its body is the same JSON for every
channel (`PromotedReply`: the submission, its origin and the sender's channel account), so one
parser reads them all. Pure.
"""

from __future__ import annotations

from pydantic import ValidationError

from streams import ids
from streams.adapters.base import Parsed
from streams.domain.identity import contact_customer_id
from streams.domain.rejections import Rejection, describe_validation_error
from streams.models import PromotedReply, RawEnvelope, RequestOrigin, UnmatchedReply

CONTENT_TYPE = "application/json"


def adapter_for(channel: str) -> str:
    """The adapter name of a promoted reply on raw.<channel>."""
    return f"{channel}-reply/v1"


def promoted_request(reply: UnmatchedReply, origin: RequestOrigin) -> tuple[str, RawEnvelope]:
    """The raw.<channel> record (key, envelope) of a reply that becomes a request of its own,
    with the ids it has as a new request (`UnmatchedReply.promoted_key` for the origin's
    reason), keyed by the sender like any request of the channel."""
    submission = reply.submission
    key = reply.promoted_key(origin.reason)
    request_id, ticket_id = ids.request_id(reply.channel, key), ids.ticket_id(reply.channel, key)
    body = PromotedReply(submission=submission, origin=origin, sender_handle=reply.sender_handle)
    sender = contact_customer_id(submission.customer, reply.sender_handle or request_id)
    envelope = RawEnvelope(
        channel=reply.channel,
        received_at=reply.received_at,
        adapter=adapter_for(reply.channel),
        idempotency_key=key,
        request_id=request_id,
        ticket_id=ticket_id,
        content_type=CONTENT_TYPE,
        body=body.model_dump_json(exclude_none=True),
    )
    return sender, envelope


def parse(envelope: RawEnvelope) -> Parsed | Rejection:
    """A promoted reply's body (see `promoted_request`) as the request it is, with its origin."""
    try:
        body = PromotedReply.model_validate_json(envelope.body)
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        return Rejection("invalid_request", f"not a promoted {envelope.channel} reply: {reason}", details)
    return Parsed(body.submission, sender_handle=body.sender_handle, origin=body.origin)
