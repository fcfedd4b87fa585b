"""Turn what a channel sent into a canonical request, or say precisely why not.

Pure: bytes and timestamps in, a `CanonicalRequest`, a `Rejection` or a `Skip` (a record of
the channel's log that is not a request) out. The body is read by the parser of the adapter
that produced the envelope (streams/adapters/); the customer is resolved through the contact
index when one is given. Used by the gateway (to answer 4xx at once) and by the normalize
agent (the authority for records that reached `raw.<channel>` by any route).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from streams import adapters
from streams.adapters.base import Skip
from streams.adapters.generic import JSON_CONTENT_TYPES, parse_submission
from streams.domain.identity import Lookup, resolve_customer
from streams.domain.rejections import (
    ERROR_CODES,
    Rejection,
    describe_validation_error,
    is_json_syntax_error,
)
from streams.models import CanonicalRequest, RawEnvelope

__all__ = [
    "ERROR_CODES",
    "JSON_CONTENT_TYPES",
    "Rejection",
    "Skip",
    "canonical_request",
    "describe_validation_error",
    "detect_language",
    "normalize_record",
    "parse_envelope",
    "parse_submission",
]

# How far ahead of our own clock a channel's timestamp may be and still be taken as skew.


def parse_envelope(raw: bytes) -> RawEnvelope | Rejection:
    try:
        return RawEnvelope.model_validate_json(raw)
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        if is_json_syntax_error(details):
            return Rejection("invalid_envelope", f"record is not a JSON envelope: {reason}", details)
        return Rejection("invalid_envelope", f"envelope fields are wrong: {reason}", details)


def detect_language(text: str) -> str:
    """'zh', 'en' or 'mixed', from the share of CJK characters among letters."""
    cjk = latin = 0
    for char in text:
        if "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf":
            cjk += 1
        elif char.isascii() and char.isalpha():
            latin += 1
    if cjk and latin:
        # A few latin letters in Chinese text (brand names, order codes) still make it Chinese.
        if latin <= cjk * 2 and cjk >= 4:
            return "zh" if latin <= cjk // 2 else "mixed"
        return "mixed" if cjk >= 2 else "en"
    return "zh" if cjk else "en"


def canonical_request(envelope: RawEnvelope, lookup: Lookup | None = None) -> CanonicalRequest | Rejection | Skip:
    """Read the envelope's body with its adapter's parser and build the canonical request.

    `lookup` is the contact index (contact key → customer id) fed from customers.profiles.
    """
    parsed = adapters.parse_body(envelope)
    if isinstance(parsed, (Rejection, Skip)):
        return parsed
    submission = parsed.submission
    submitted_at = submission.submitted_at or envelope.received_at
    if submitted_at > envelope.received_at:
        # The clock cannot start in the future: a skewed clock, or a local time sent without
        # its zone (read as UTC). The request is kept and its clock starts when it was received.
        submitted_at = envelope.received_at
    customer = submission.customer
    customer_id, _source = resolve_customer(customer, lookup, fallback=parsed.sender_handle or envelope.request_id)
    return CanonicalRequest(
        request_id=envelope.request_id,
        ticket_id=envelope.ticket_id,
        channel=envelope.channel,
        customer_id=customer_id,
        customer=customer,
        text=submission.text.strip(),
        subject=submission.subject,
        language=detect_language(submission.text),
        submitted_at=submitted_at,
        received_at=envelope.received_at,
        idempotency_key=envelope.idempotency_key,
        origin=parsed.origin,
    )


def normalize_record(
    raw: bytes, lookup: Lookup | None = None
) -> tuple[CanonicalRequest | Rejection | Skip, RawEnvelope | None]:
    """A raw topic record → the canonical request, a skip (not a request), or the rejection and
    whatever envelope could be read."""
    envelope = parse_envelope(raw)
    if isinstance(envelope, Rejection):
        return envelope, None
    return canonical_request(envelope, lookup), envelope


def envelope_as_dict(envelope: RawEnvelope) -> dict[str, Any]:
    return orjson.loads(envelope.model_dump_json())
