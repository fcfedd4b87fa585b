"""Turn what a channel sent into a canonical request, or say precisely why not.

Pure: bytes and timestamps in, a `CanonicalRequest` or a `Rejection` out. Used by the
gateway (to answer 4xx at once) and by the normalize agent (the authority for records
that reached `raw.<channel>` by any route).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from streams import ids
from streams.models import CanonicalRequest, RawEnvelope, RequestSubmission

# How far ahead of our own clock a channel's timestamp may be and still be taken as skew.
MAX_CLOCK_SKEW = timedelta(minutes=5)

JSON_CONTENT_TYPES = ("application/json",)


@dataclass(frozen=True)
class Rejection:
    """Why a record cannot become a request. `error_code` is from a small fixed set (a metric label)."""

    error_code: str
    reason: str
    errors: list[dict[str, Any]] = field(default_factory=list)


ERROR_CODES = (
    "invalid_envelope",
    "invalid_json",
    "invalid_request",
    "unsupported_content_type",
    "submitted_in_future",
    "body_too_large",
    "unknown_channel",
)


def describe_validation_error(error: ValidationError) -> tuple[str, list[dict[str, Any]]]:
    """A one-line reason naming each bad field, and the structured list for machines."""
    details: list[dict[str, Any]] = []
    parts: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "(body)"
        details.append({"field": location, "problem": item["msg"], "kind": item["type"]})
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts[:5]) + (f" (+{len(parts) - 5} more)" if len(parts) > 5 else ""), details


def parse_submission(body: bytes | str) -> RequestSubmission | Rejection:
    """Parse the generic JSON request body (`POST /v1/requests/{channel}`)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Rejection("invalid_json", f"body is not valid JSON: {exc}")
    if not isinstance(document, dict):
        return Rejection("invalid_request", f"body must be a JSON object, got {type(document).__name__}")
    try:
        return RequestSubmission.model_validate(document)
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        return Rejection("invalid_request", reason, details)


def parse_envelope(raw: bytes) -> RawEnvelope | Rejection:
    try:
        return RawEnvelope.model_validate_json(raw)
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        if details and details[0]["kind"] == "json_invalid":
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


def canonical_request(envelope: RawEnvelope) -> CanonicalRequest | Rejection:
    """Validate the envelope's body and build the canonical request."""
    if envelope.content_type.split(";")[0].strip().lower() not in JSON_CONTENT_TYPES:
        return Rejection(
            "unsupported_content_type",
            f"content type {envelope.content_type!r} has no parser for channel {envelope.channel!r} yet",
        )
    submission = parse_submission(envelope.body)
    if isinstance(submission, Rejection):
        return submission
    submitted_at = submission.submitted_at or envelope.received_at
    if submitted_at > envelope.received_at:
        if submitted_at - envelope.received_at > MAX_CLOCK_SKEW:
            return Rejection(
                "submitted_in_future",
                f"submitted_at {submitted_at.isoformat()} is more than {MAX_CLOCK_SKEW} after the "
                f"moment it was received ({envelope.received_at.isoformat()})",
            )
        submitted_at = envelope.received_at  # clock skew: the clock cannot start in the future
    customer = submission.customer
    customer_id, _source = ids.customer_id_for(
        explicit_id=customer.id,
        phone=customer.phone,
        email=customer.email,
        wecom_id=customer.wecom_id,
        fallback=envelope.request_id,
    )
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
    )


def normalize_record(raw: bytes) -> tuple[CanonicalRequest | Rejection, RawEnvelope | None]:
    """A raw topic record → the canonical request, or the rejection and whatever envelope could be read."""
    envelope = parse_envelope(raw)
    if isinstance(envelope, Rejection):
        return envelope, None
    return canonical_request(envelope), envelope


def envelope_as_dict(envelope: RawEnvelope) -> dict[str, Any]:
    return orjson.loads(envelope.model_dump_json())


def utc_iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
