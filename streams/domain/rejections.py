"""Why a record or a payload cannot become a request: a small fixed set of error codes (they
are a metric label) and a reason a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

# Codes of records kept on requests.invalid (after verification, when a channel signs).
ERROR_CODES = (
    "invalid_envelope",
    "invalid_json",
    "invalid_xml",
    "invalid_mail",
    "invalid_request",
    "invalid_row",
    "unsupported_content_type",
    "body_too_large",
    "unknown_channel",
    "channel_mismatch",
    "processing_error",
    "invalid_record",
    "invalid_action",
    "unknown_department",
    "stale_repair",
    "wrong_partition",
    "too_many_unknown_tickets",
)

# Codes of payloads refused at the edge and never published: the sender could not be
# verified, so nothing of it is trusted (answered 401/403 and counted).
AUTHENTICATION_CODES = (
    "missing_signature",
    "bad_signature",
    "stale_timestamp",
    "wrong_receiver",
    "channel_not_configured",
)


@dataclass(frozen=True)
class Rejection:
    """Why a record cannot become a request. `error_code` is from a small fixed set (a metric label)."""

    error_code: str
    reason: str
    errors: list[dict[str, Any]] = field(default_factory=list)


def describe_validation_error(error: ValidationError) -> tuple[str, list[dict[str, Any]]]:
    """A one-line reason naming each bad field, and the structured list for machines."""
    details: list[dict[str, Any]] = []
    parts: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "(body)"
        details.append({"field": location, "problem": item["msg"], "kind": item["type"]})
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts[:5]) + (f" (+{len(parts) - 5} more)" if len(parts) > 5 else ""), details


def is_json_syntax_error(details: list[dict] | None) -> bool:
    """Whether a validation failed on the JSON itself rather than on a field."""
    return bool(details) and details[0]["kind"] == "json_invalid"
