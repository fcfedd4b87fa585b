"""The ingestion gateway: every channel in its own protocol.

HTTP (`--gateway-port`):
- `POST /v1/requests/{channel}`: the generic JSON request → `raw.<channel>`.
- `POST /v1/channels/{app|webchat|social|vip}/webhook`: the channel's signed JSON webhook.
- `POST /v1/channels/phone/events`: CTI call events (signed like the webhooks).
- `GET|POST /v1/channels/wecom/callback`: the WeChat Work callback (URL check; encrypted XML).
- `POST /v1/tickets/{ticket_id}/actions`: an agent or customer action → `tickets.actions`.
- `GET /healthz`, `GET /metrics`.
SMTP (`--smtp-port`, streams/gateway/smtp.py) and the IMAP poller (streams/gateway/imap.py)
run in the same process.

Accepted payloads are answered 202 (WeChat Work: the 200 its protocol expects) only after the
broker acknowledged every record (acks=all); when it cannot, 503 with `Retry-After` and nothing
is remembered, so a retry publishes. A payload refused after verification is answered with a
4xx JSON error and kept on `requests.invalid`; an authentication failure (missing, bad or stale
signature; a message for another corp id) is answered 401/403, counted, and not published.
Ids derive from each channel's own message id, so a repeat collapses into the same ticket.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    generate_latest,
)
from pydantic import ValidationError

from streams import ids
from streams.adapters import cti, webhook, wecom
from streams.adapters.base import HttpInput, Intake, Refusal, Reply
from streams.adapters.generic import ADAPTER, parse_submission
from streams.board.gateway_pages import BoardPages
from streams.catalog import TopicCatalog
from streams.domain.rejections import (
    Rejection,
    describe_validation_error,
    is_json_syntax_error,
)
from streams.gateway import feedback
from streams.gateway.calls import CallTracker
from streams.gateway.http import HTTP_REQUESTS, TICKET_ID, error_response, note
from streams.gateway.intake import (
    IdempotencyCache,
    IntakeSink,
    Publisher,
    RecordTooLarge,
)
from streams.models import CHANNELS, ActionSubmission, TicketAction
from streams.settings import Settings
from streams.transport.publisher import PublishError

log = logging.getLogger("ticketflow.gateway")

__all__ = ["ADAPTER", "Gateway", "IdempotencyCache"]

RETRY_AFTER_SECONDS = 5
ANONYMOUS = "anonymous"
OFF_LOOP_BYTES = 16 * 1024
WEBHOOK_CHANNELS = tuple(webhook.CHANNELS)


class Gateway:
    def __init__(self, settings: Settings, publisher: Publisher) -> None:
        self.settings = settings
        self.publisher = publisher
        self.catalog = TopicCatalog(settings.topic_prefix)
        self.departments = set(settings.routing.departments)
        self.sink = IntakeSink(publisher, self.catalog, IdempotencyCache(), max_record_bytes=settings.max_record_bytes)
        self.cache = self.sink.cache
        self.calls = CallTracker()
        self.max_age = timedelta(seconds=settings.webhook_max_age_seconds)
        self.wecom: wecom.WeComCrypto | None = None
        if settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id:
            self.wecom = wecom.WeComCrypto.create(
                settings.wecom_token.get_secret_value(),
                settings.wecom_aes_key.get_secret_value(),
                settings.wecom_corp_id,
            )

    def build(self) -> web.Application:
        application = web.Application(client_max_size=self.settings.max_body_bytes)
        application.add_routes(
            [
                web.post("/v1/requests/{channel}", self.submit_request),
                web.post("/v1/channels/phone/events", self.phone_events),
                web.get("/v1/channels/wecom/callback", self.wecom_verify),
                web.post("/v1/channels/wecom/callback", self.wecom_message),
                web.post("/v1/channels/{channel}/webhook", self.channel_webhook),
                web.post("/v1/tickets/{ticket_id}/actions", self.submit_action),
                web.post("/v1/feedback", feedback.handler(self)),
                web.get("/healthz", self.healthz),
                web.get("/readyz", self.readyz),
                web.get("/metrics", self.metrics),
                *BoardPages(self.settings).routes(),  # the live board (docs/board.md)
            ]
        )
        return application

    # -- the generic JSON endpoint -------------------------------------------------------------

    def _client(self, request: web.Request) -> str | None:
        """The integration a write comes from (`Authorization: Bearer <token>`, one token per client,
        TICKETFLOW_API_TOKENS); "anonymous" only where TICKETFLOW_ALLOW_ANONYMOUS_WRITES_INSECURE is
        on; None when the write is not allowed."""
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and given.strip():
            offered = given.strip().encode()
            for name, token in self.settings.client_tokens.items():
                if hmac.compare_digest(offered, token.encode()):
                    note(request, client=name)
                    return name
            return None
        if self.settings.allow_anonymous_writes_insecure:
            note(request, client="anonymous")
            return ANONYMOUS
        return None

    @staticmethod
    def _unauthorized() -> web.Response:
        return error_response(
            401,
            "unauthorized",
            "send Authorization: Bearer <API token> (TICKETFLOW_API_TOKENS)",
            headers={"WWW-Authenticate": "Bearer"},
        )

    async def submit_request(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        label = channel if channel in CHANNELS else "unknown"
        note(request, channel=label)
        client = self._client(request)
        response = await self._submit_request(request, channel, client) if client else self._unauthorized()
        HTTP_REQUESTS.labels("requests", label, str(response.status)).inc()
        return response

    async def _submit_request(self, request: web.Request, channel: str, client: str) -> web.Response:
        received_at = datetime.now(UTC)
        body = await self._read_body(request)
        if isinstance(body, web.Response):
            await self._refuse(request, channel, Refusal(413, Rejection("body_too_large", body.text or ""), True))
            return body
        if channel not in CHANNELS:
            rejection = Rejection("unknown_channel", f"unknown channel {channel!r}; known channels: {list(CHANNELS)}")
            await self._refuse(request, "unknown", Refusal(404, rejection, publish=True, raw=body))
            return error_response(404, rejection.error_code, rejection.reason)
        submission = parse_submission(body)
        if isinstance(submission, Rejection):
            status = 400 if submission.error_code == "invalid_json" else 422
            await self._refuse(request, channel, Refusal(status, submission, publish=True, raw=body))
            return error_response(status, submission.error_code, submission.reason, submission.errors)
        idempotency_key = submission.idempotency_key or request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        if client == ANONYMOUS and submission.customer.tier is not None:  # nobody vouches for a declared tier
            submission.customer.tier = None
            body = submission.model_dump_json(exclude_none=True).encode()
        intake = Intake(
            channel=channel,
            adapter=ADAPTER,
            idempotency_key=idempotency_key,
            content_type="application/json",
            body=body.decode("utf-8"),
            received_at=received_at,
            sender=submission.customer,
            key_namespace=ids.CLIENT_KEYS,
        )
        return await self._accept(request, intake)

    # -- channel adapters ------------------------------------------------------------------------

    async def channel_webhook(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        if channel not in WEBHOOK_CHANNELS:
            note(request, channel="unknown", error="unknown_channel")
            HTTP_REQUESTS.labels("channel", "unknown", "404").inc()
            return error_response(
                404,
                "unknown_channel",
                f"webhooks exist for {list(WEBHOOK_CHANNELS)}; "
                "phone events and the WeChat Work callback have their own paths",
            )
        secret = self.settings.channel_secret(channel)
        return await self._channel(request, channel, lambda http: webhook.accept(channel, http, secret, self.max_age))

    async def phone_events(self, request: web.Request) -> web.Response:
        secret = self.settings.channel_secret("phone")
        response = await self._channel(
            request, "phone", lambda http: cti.accept(http, secret, self.max_age), on_accepted=self._observe_call
        )
        return response

    async def wecom_verify(self, request: web.Request) -> web.Response:
        return await self._channel(request, "wecom", lambda http: self._wecom(http, wecom.verify_url))

    async def wecom_message(self, request: web.Request) -> web.Response:
        return await self._channel(request, "wecom", lambda http: self._wecom(http, wecom.accept))

    def _wecom(self, http: HttpInput, step: Callable) -> Intake | Refusal | Reply:  # noqa: ANN401
        if self.wecom is None:
            return Refusal(
                403, Rejection("channel_not_configured", "the WeChat Work callback is not configured"), publish=False
            )
        return step(http, self.wecom, self.max_age)

    def _observe_call(self, intake: Intake) -> None:
        event = cti.parse_event(intake.body)
        if isinstance(event, cti.CallEvent):
            self.calls.observe(event, self.settings.call_answer_target_seconds)

    async def _channel(
        self,
        request: web.Request,
        channel: str,
        handle: Callable[[HttpInput], Intake | Refusal | Reply],
        on_accepted: Callable[[Intake], None] | None = None,
    ) -> web.Response:
        note(request, channel=channel)
        response = await self._channel_response(request, channel, handle, on_accepted)
        HTTP_REQUESTS.labels("channel", channel, str(response.status)).inc()
        return response

    async def _channel_response(
        self,
        request: web.Request,
        channel: str,
        handle: Callable[[HttpInput], Intake | Refusal | Reply],
        on_accepted: Callable[[Intake], None] | None,
    ) -> web.Response:
        body = await self._read_body(request)
        if isinstance(body, web.Response):  # cannot be verified: counted, not kept
            await self._refuse(request, channel, Refusal(413, Rejection("body_too_large", body.text or ""), False))
            return body
        http = HttpInput.of(request.method, request.query, request.headers, body)
        # Verifying and parsing a large body (XML, a big JSON document) runs in a worker thread,
        # so one heavy call never holds up the other endpoints; small ones stay on the loop.
        outcome = await asyncio.to_thread(handle, http) if len(body) > OFF_LOOP_BYTES else handle(http)
        if isinstance(outcome, Reply):
            return web.Response(status=outcome.status, text=outcome.text, content_type=outcome.content_type)
        if isinstance(outcome, Refusal):
            await self._refuse(request, channel, outcome)
            rejection = outcome.rejection
            return error_response(outcome.status, rejection.error_code, rejection.reason, rejection.errors)
        return await self._accept(request, outcome, on_accepted)

    # -- shared --------------------------------------------------------------------------------

    async def _accept(
        self, request: web.Request, intake: Intake, on_accepted: Callable[[Intake], None] | None = None
    ) -> web.Response:
        try:
            answer, duplicate = await self.sink.accept(intake)
        except RecordTooLarge as exc:
            rejection = Rejection("body_too_large", str(exc))
            await self._refuse(request, intake.channel, Refusal(413, rejection, True, intake.body.encode("utf-8")))
            return error_response(413, rejection.error_code, rejection.reason)
        except PublishError as exc:
            log.warning("publish failed: %s", exc)
            note(request, error="broker_unavailable")
            return self._unavailable()
        if on_accepted is not None and not duplicate:
            on_accepted(intake)
        if intake.reply is not None:
            return web.Response(
                status=intake.reply.status, text=intake.reply.text, content_type=intake.reply.content_type
            )
        return web.json_response({**answer, "duplicate": duplicate}, status=202)

    async def _refuse(self, request: web.Request, channel: str, refusal: Refusal) -> None:
        note(request, error=refusal.error_code)
        await self.sink.refuse(channel, refusal)

    # -- actions, health, metrics ----------------------------------------------------------------

    async def submit_action(self, request: web.Request) -> web.Response:
        response = await self._submit_action(request) if self._client(request) else self._unauthorized()
        HTTP_REQUESTS.labels("actions", "none", str(response.status)).inc()
        return response

    async def _submit_action(self, request: web.Request) -> web.Response:
        ticket_id = request.match_info["ticket_id"]
        body = await self._read_body(request)
        if isinstance(body, web.Response):
            return body
        if not TICKET_ID.match(ticket_id):
            return error_response(404, "unknown_ticket", "ticket ids are 1-64 letters, digits or . _ : -")
        try:
            submission = ActionSubmission.model_validate_json(body)
        except ValidationError as exc:
            reason, details = describe_validation_error(exc)
            code = "invalid_json" if is_json_syntax_error(details) else "invalid_action"
            refusal = Refusal(400 if code == "invalid_json" else 422, Rejection(code, reason, details), True, body)
            await self.sink.refuse("unknown", refusal, replay_topic=self.catalog.tickets_actions)
            return error_response(refusal.status, code, reason, details)
        if submission.type == "transfer" and submission.department not in self.departments:
            reason = f"a transfer needs 'department', one of {sorted(self.departments)}; got {submission.department!r}"
            refusal = Refusal(422, Rejection("unknown_department", reason), True, body)
            await self.sink.refuse("unknown", refusal, replay_topic=self.catalog.tickets_actions)
            return error_response(422, "unknown_department", reason)
        idempotency_key = submission.idempotency_key or request.headers.get("Idempotency-Key")
        action_id = ids.action_id(ticket_id, idempotency_key) if idempotency_key else "ACT-" + uuid.uuid4().hex
        action = TicketAction(
            action_id=action_id,
            ticket_id=ticket_id,
            type=submission.type,
            by=submission.by,
            at=submission.at or datetime.now(UTC),
            automated=submission.automated,
            department=submission.department,
            channel=submission.channel,
            note=submission.note,
        )
        try:
            await self.sink.publish(self.catalog.tickets_actions, ticket_id.encode(), action.model_dump_json().encode())
        except PublishError as exc:
            log.warning("publish failed: %s", exc)
            return self._unavailable()
        return web.json_response({"action_id": action_id, "ticket_id": ticket_id}, status=202)

    async def _intake_health(self) -> tuple[int, dict[str, Any]]:
        needed = [*self.catalog.raw_topics, self.catalog.tickets_actions, self.catalog.requests_invalid]
        try:
            missing = await self.publisher.missing_topics(needed)
        except PublishError as exc:
            log.warning("health check: %s", exc)  # the details go to the log, not to whoever asks
            return 503, {"status": "unavailable", "broker": "unreachable"}
        if missing:
            return 503, {"status": "degraded", "missing_topics": missing}
        return 200, {"status": "ok", "broker": self.publisher.bootstrap}

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness and intake health: the broker takes records and the intake topics exist."""
        status, body = await self._intake_health()
        return web.json_response(body, status=status, headers=None if status == 200 else self._retry_after())

    async def readyz(self, request: web.Request) -> web.Response:
        """Ready for traffic: the intake is healthy and, where TICKETFLOW_READINESS_WORKER_URL names a
        worker (`ticketflow up` and `demo` do), that worker owns partitions and has recovered its tables."""
        status, body = await self._intake_health()
        url = self.settings.readiness_worker_url
        if status == 200 and url:
            worker_ready = await _worker_ready(url)
            body = {**body, "worker": "ready" if worker_ready else "not ready"}
            if not worker_ready:
                status, body["status"] = 503, "starting"
        return web.json_response(body, status=status, headers=None if status == 200 else self._retry_after())

    @staticmethod
    def _retry_after() -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _read_body(self, request: web.Request) -> bytes | web.Response:
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return error_response(
                413, "body_too_large", f"body of {request.content_length} bytes exceeds the {limit}-byte limit"
            )
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            return error_response(413, "body_too_large", f"body exceeds the {limit}-byte limit")

    @staticmethod
    def _unavailable() -> web.Response:
        return error_response(
            503,
            "broker_unavailable",
            "the broker did not acknowledge the record; retry later (nothing was accepted)",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


async def _worker_ready(url: str) -> bool:
    """Whether the worker's /v1/status says it is ready (False when it cannot be asked)."""
    from aiohttp import ClientError, ClientSession, ClientTimeout

    try:
        async with ClientSession(timeout=ClientTimeout(total=2)) as session, session.get(url) as response:
            return response.status == 200 and (await response.json()).get("ready") is True
    except (TimeoutError, ClientError, ValueError):
        return False
