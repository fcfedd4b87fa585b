"""The generic JSON request (`POST /v1/requests/{channel}`): a `RequestSubmission` as the body."""

from __future__ import annotations

from pydantic import ValidationError

from streams.adapters.base import Parsed, load_json_object, media_type
from streams.domain.rejections import Rejection, describe_validation_error
from streams.models import RawEnvelope, RequestSubmission

ADAPTER = "http-json/v1"
JSON_CONTENT_TYPES = ("application/json",)


def parse_submission(body: bytes | str) -> RequestSubmission | Rejection:
    """Parse the generic JSON request body."""
    document = load_json_object(body)
    if isinstance(document, Rejection):
        return document
    try:
        return RequestSubmission.model_validate(document)
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        return Rejection("invalid_request", reason, details)


def parse(envelope: RawEnvelope) -> Parsed | Rejection:
    if media_type(envelope.content_type) not in JSON_CONTENT_TYPES:
        return Rejection(
            "unsupported_content_type",
            f"content type {envelope.content_type!r} has no parser for adapter {envelope.adapter!r} "
            f"on channel {envelope.channel!r}",
        )
    submission = parse_submission(envelope.body)
    if isinstance(submission, Rejection):
        return submission
    return Parsed(submission)
