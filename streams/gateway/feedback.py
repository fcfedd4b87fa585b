"""`POST /v1/feedback`: a customer's answer to a survey or callback → `feedback` (keyed by
ticket id), authenticated like the other write endpoints (docs/followups.md).

202 once the broker acknowledged the record, with its `feedback_id` (from `idempotency_key` or
the `Idempotency-Key` header, else from the answer and its moment): a repeat is answered with
the same id and `duplicate: true`, and the worker drops a copy by that id. A body that is not
an answer is answered 400/422 naming the field and kept on `requests.invalid`. The gateway does
not know tickets: feedback for an unknown ticket is accepted, kept and reported by the worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import ValidationError

from streams.adapters.base import Refusal
from streams.domain.followups import feedback_id
from streams.domain.rejections import Rejection, describe_validation_error, is_json_syntax_error
from streams.gateway.http import HTTP_REQUESTS, TICKET_ID, error_response
from streams.models import Feedback, FeedbackSubmission
from streams.transport.publisher import PublishError

if TYPE_CHECKING:
    from streams.gateway.app import Gateway

log = logging.getLogger("ticketflow.gateway")
_SCOPE = "feedback"


def handler(gateway: Gateway):  # noqa: ANN201 - an aiohttp handler
    """The route's handler for this gateway."""

    async def submit_feedback(request: web.Request) -> web.Response:
        return await submit(gateway, request)

    return submit_feedback


async def submit(gateway: Gateway, request: web.Request) -> web.Response:
    response = await _submit(gateway, request) if gateway._client(request) else gateway._unauthorized()
    HTTP_REQUESTS.labels("feedback", "none", str(response.status)).inc()
    return response


async def _refuse(gateway: Gateway, status: int, rejection: Rejection, body: bytes) -> web.Response:
    await gateway.sink.refuse("unknown", Refusal(status, rejection, True, body), replay_topic=gateway.catalog.feedback)
    return error_response(status, rejection.error_code, rejection.reason, rejection.errors)


async def _submit(gateway: Gateway, request: web.Request) -> web.Response:
    body = await gateway._read_body(request)
    if isinstance(body, web.Response):
        return body
    try:
        submission = FeedbackSubmission.model_validate_json(body)
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        if is_json_syntax_error(details):
            return await _refuse(gateway, 400, Rejection("invalid_json", reason, details), body)
        return await _refuse(gateway, 422, Rejection("invalid_feedback", reason, details), body)
    if not TICKET_ID.match(submission.ticket_id):
        reason = "ticket_id: ticket ids are 1-64 letters, digits or . _ : -"
        return await _refuse(gateway, 422, Rejection("invalid_feedback", reason), body)
    header_key = request.headers.get("Idempotency-Key")
    if submission.idempotency_key is None and header_key:
        try:
            submission = FeedbackSubmission.model_validate({**submission.model_dump(), "idempotency_key": header_key})
        except ValidationError as exc:
            reason, details = describe_validation_error(exc)
            return await _refuse(
                gateway, 422, Rejection("invalid_feedback", f"Idempotency-Key: {reason}", details), body
            )
    received = time.time()
    record_id = feedback_id(submission, received_at=received)
    known = gateway.cache.get(_SCOPE, record_id)
    if known is not None:
        answer = await known if isinstance(known, asyncio.Future) else known
        return web.json_response({**answer, "duplicate": True}, status=202)
    record = Feedback(
        **submission.model_dump(), feedback_id=record_id, received_at=datetime.fromtimestamp(received, UTC)
    )
    answer = {"feedback_id": record_id, "ticket_id": submission.ticket_id}
    gateway.cache.begin(_SCOPE, record_id)
    try:
        await gateway.sink.publish(
            gateway.catalog.feedback, submission.ticket_id.encode(), record.model_dump_json().encode()
        )
    except PublishError as exc:
        gateway.cache.finish(_SCOPE, record_id, None, exc)
        log.warning("publish failed: %s", exc)
        return gateway._unavailable()
    gateway.cache.finish(_SCOPE, record_id, answer)
    return web.json_response({**answer, "duplicate": False}, status=202)
