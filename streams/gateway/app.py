"""The HTTP ingestion gateway.

- `POST /v1/requests/{channel}`: a customer request → `raw.<channel>`; 202 with the request and
  ticket ids once the broker acknowledged the record (acks=all).
- `POST /v1/tickets/{ticket_id}/actions`: an agent or customer action → `tickets.actions`.
- `GET /healthz`: broker reachable and the pipeline's topics exist.
- `GET /metrics`: Prometheus metrics of this gateway.

A request the gateway rejects is answered with a 4xx JSON error that says what is wrong,
and is also published to `requests.invalid` with everything needed to fix and replay it.
The same idempotency key twice returns the same ids and publishes one record; ids are
derived from the key, so a repeat that reaches the pipeline anyway (after a gateway
restart, or through a second gateway) still collapses into the same ticket downstream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from pydantic import ValidationError

from streams import ids
from streams.catalog import TopicCatalog
from streams.domain.normalize import Rejection, describe_validation_error, parse_submission
from streams.models import CHANNELS, ActionSubmission, RawEnvelope, TicketAction
from streams.settings import Settings
from streams.stages import invalid_output
from streams.transport.publisher import KafkaPublisher, PublishError

log = logging.getLogger("ticketflow.gateway")

ADAPTER = "http-json/v1"
RETRY_AFTER_SECONDS = 5
_TICKET_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

HTTP_REQUESTS = Counter(
    "ticketflow_gateway_requests",
    "HTTP requests answered by the gateway, by endpoint, channel and status code.",
    ["endpoint", "channel", "status"],
)
GATEWAY_DUPLICATES = Counter(
    "ticketflow_gateway_duplicates",
    "Submissions answered from the idempotency cache without publishing again.",
    ["channel"],
)
PUBLISH_SECONDS = Histogram(
    "ticketflow_gateway_publish_seconds",
    "Time until the broker acknowledged a published record.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class IdempotencyCache:
    """Recently accepted idempotency keys → the ids answered, bounded in size and age.

    Concurrent submissions with the same key wait for the first one's publish instead of
    publishing twice.
    """

    def __init__(self, max_entries: int = 200_000, ttl_seconds: float = 24 * 3600) -> None:
        self.max_entries = max_entries
        self.ttl = ttl_seconds
        self._done: OrderedDict[tuple[str, str], tuple[float, dict[str, str]]] = OrderedDict()
        self._in_flight: dict[tuple[str, str], asyncio.Future[dict[str, str]]] = {}

    def get(self, scope: str, key: str) -> dict[str, str] | asyncio.Future[dict[str, str]] | None:
        entry = self._done.get((scope, key))
        if entry is not None:
            stored_at, answer = entry
            if time.monotonic() - stored_at <= self.ttl:
                return answer
            del self._done[(scope, key)]
        return self._in_flight.get((scope, key))

    def begin(self, scope: str, key: str) -> asyncio.Future[dict[str, str]]:
        future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self._in_flight[(scope, key)] = future
        return future

    def finish(self, scope: str, key: str, answer: dict[str, str] | None, error: BaseException | None = None) -> None:
        future = self._in_flight.pop((scope, key), None)
        if answer is not None:
            self._done[(scope, key)] = (time.monotonic(), answer)
            while len(self._done) > self.max_entries:
                self._done.popitem(last=False)
        if future is not None and not future.done():
            if error is not None:
                future.set_exception(error)
                future.exception()  # retrieved here, so an unawaited future does not warn
            else:
                future.set_result(answer or {})


def _error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None,
           headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    body: dict[str, Any] = {"error": code, "message": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status, headers=headers)


class Gateway:
    def __init__(self, settings: Settings, publisher: KafkaPublisher) -> None:
        self.settings = settings
        self.publisher = publisher
        self.catalog = TopicCatalog(settings.topic_prefix)
        self.departments = set(settings.routing.departments)
        self.cache = IdempotencyCache()

    def build(self) -> web.Application:
        application = web.Application(client_max_size=self.settings.max_body_bytes)
        application.add_routes(
            [
                web.post("/v1/requests/{channel}", self.submit_request),
                web.post("/v1/tickets/{ticket_id}/actions", self.submit_action),
                web.get("/healthz", self.healthz),
                web.get("/metrics", self.metrics),
            ]
        )
        return application

    # -- endpoints ---------------------------------------------------------------------------

    async def submit_request(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        label = channel if channel in CHANNELS else "unknown"
        response = await self._submit_request(request, channel)
        HTTP_REQUESTS.labels("requests", label, str(response.status)).inc()
        return response

    async def _submit_request(self, request: web.Request, channel: str) -> web.Response:
        received_at = datetime.now(timezone.utc)
        body = await self._read_body(request)
        if isinstance(body, web.Response):
            await self._record_rejection(channel, Rejection("body_too_large", body.text or ""), b"")
            return body
        if channel not in CHANNELS:
            rejection = Rejection("unknown_channel", f"unknown channel {channel!r}; known channels: {list(CHANNELS)}")
            await self._record_rejection("unknown", rejection, body)
            return _error(404, rejection.error_code, rejection.reason)
        submission = parse_submission(body)
        if isinstance(submission, Rejection):
            await self._record_rejection(channel, submission, body)
            status = 400 if submission.error_code == "invalid_json" else 422
            return _error(status, submission.error_code, submission.reason, submission.errors)
        idempotency_key = submission.idempotency_key or request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        known = self.cache.get(channel, idempotency_key)
        if known is not None:
            try:
                answer = await known if isinstance(known, asyncio.Future) else known
            except PublishError:
                return self._unavailable()
            GATEWAY_DUPLICATES.labels(channel).inc()
            return web.json_response({**answer, "duplicate": True}, status=202)

        request_id = ids.request_id(channel, idempotency_key)
        ticket_id = ids.ticket_id(channel, idempotency_key)
        sender_id, _ = ids.customer_id_for(
            explicit_id=submission.customer.id,
            phone=submission.customer.phone,
            email=submission.customer.email,
            wecom_id=submission.customer.wecom_id,
            fallback=request_id,
        )
        envelope = RawEnvelope(
            channel=channel,
            received_at=received_at,
            adapter=ADAPTER,
            idempotency_key=idempotency_key,
            request_id=request_id,
            ticket_id=ticket_id,
            content_type="application/json",
            body=body.decode("utf-8"),
        )
        answer = {"request_id": request_id, "ticket_id": ticket_id}
        self.cache.begin(channel, idempotency_key)
        try:
            await self._publish(self.catalog.raw(channel), sender_id.encode(), envelope.model_dump_json().encode())
        except PublishError as exc:
            self.cache.finish(channel, idempotency_key, None, exc)
            log.warning("publish failed: %s", exc)
            return self._unavailable()
        self.cache.finish(channel, idempotency_key, answer)
        return web.json_response({**answer, "duplicate": False}, status=202)

    async def submit_action(self, request: web.Request) -> web.Response:
        response = await self._submit_action(request)
        HTTP_REQUESTS.labels("actions", "none", str(response.status)).inc()
        return response

    async def _submit_action(self, request: web.Request) -> web.Response:
        ticket_id = request.match_info["ticket_id"]
        body = await self._read_body(request)
        if isinstance(body, web.Response):
            return body
        if not _TICKET_ID.match(ticket_id):
            return _error(404, "unknown_ticket", "ticket ids are 1-64 letters, digits or . _ : -")
        try:
            submission = ActionSubmission.model_validate_json(body)
        except ValidationError as exc:
            reason, details = describe_validation_error(exc)
            code = "invalid_json" if details and details[0]["kind"] == "json_invalid" else "invalid_action"
            await self._record_rejection("unknown", Rejection(code, reason, details), body, topic=self.catalog.tickets_actions)
            return _error(400 if code == "invalid_json" else 422, code, reason, details)
        if submission.type == "transfer" and submission.department not in self.departments:
            reason = (
                f"a transfer needs 'department', one of {sorted(self.departments)}; got {submission.department!r}"
            )
            await self._record_rejection("unknown", Rejection("unknown_department", reason), body,
                                         topic=self.catalog.tickets_actions)  # fmt: skip
            return _error(422, "unknown_department", reason)
        idempotency_key = submission.idempotency_key or request.headers.get("Idempotency-Key")
        action_id = ids.action_id(ticket_id, idempotency_key) if idempotency_key else "ACT-" + uuid.uuid4().hex
        action = TicketAction(
            action_id=action_id,
            ticket_id=ticket_id,
            type=submission.type,
            by=submission.by,
            at=submission.at or datetime.now(timezone.utc),
            automated=submission.automated,
            department=submission.department,
            channel=submission.channel,
            note=submission.note,
        )
        try:
            await self._publish(self.catalog.tickets_actions, ticket_id.encode(), action.model_dump_json().encode())
        except PublishError as exc:
            log.warning("publish failed: %s", exc)
            return self._unavailable()
        return web.json_response({"action_id": action_id, "ticket_id": ticket_id}, status=202)

    async def healthz(self, request: web.Request) -> web.Response:
        needed = [*self.catalog.raw_topics, self.catalog.tickets_actions, self.catalog.requests_invalid]
        try:
            missing = await self.publisher.missing_topics(needed)
        except PublishError as exc:
            return web.json_response({"status": "unavailable", "broker": str(exc)}, status=503)
        if missing:
            return web.json_response({"status": "degraded", "missing_topics": missing}, status=503)
        return web.json_response({"status": "ok", "broker": self.publisher.bootstrap})

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    # -- helpers -----------------------------------------------------------------------------

    async def _read_body(self, request: web.Request) -> bytes | web.Response:
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return _error(413, "body_too_large", f"body of {request.content_length} bytes exceeds the {limit}-byte limit")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "body_too_large", f"body exceeds the {limit}-byte limit")

    async def _publish(self, topic: str, key: bytes, value: bytes) -> None:
        started = time.perf_counter()
        await self.publisher.publish(topic, key, value)
        PUBLISH_SECONDS.observe(time.perf_counter() - started)

    async def _record_rejection(self, channel: str, rejection: Rejection, body: bytes, topic: str | None = None) -> None:
        """Keep the rejected payload on requests.invalid; a broker failure here is logged, not raised."""
        replay_topic = topic or (self.catalog.raw(channel) if channel in CHANNELS else None)
        output = invalid_output(self.catalog, stage="gateway", channel=channel, rejection=rejection, raw=body,
                                source=None, replay_topic=replay_topic)  # fmt: skip
        try:
            await self.publisher.publish(output.topic, output.key, output.value)
        except PublishError as exc:
            log.error("could not record a rejected %s payload on %s: %s", channel, output.topic, exc)

    @staticmethod
    def _unavailable() -> web.Response:
        return _error(
            503, "broker_unavailable", "the broker did not acknowledge the record; retry later (nothing was accepted)",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )  # fmt: skip


class JsonAccessLogger(AbstractAccessLogger):
    """One JSON line per request: method, path, status, duration. No bodies, no query strings."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:  # noqa: A002
        self.logger.info(
            json.dumps(
                {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status,
                    "duration_ms": round(time * 1000, 2),
                    "bytes_in": request.content_length,
                },
                ensure_ascii=False,
            )
        )


async def serve(settings: Settings, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> None:
    """Run the gateway until `stop` is set (or forever)."""
    publisher = KafkaPublisher(
        settings.bootstrap_servers,
        linger_ms=settings.producer_linger_ms,
        single_record_batches=settings.uses_single_record_batches,
    )
    await publisher.start()
    gateway = Gateway(settings, publisher)
    runner = web.AppRunner(gateway.build(), access_log_class=JsonAccessLogger, access_log=logging.getLogger("ticketflow.access"))
    await runner.setup()
    site = web.TCPSite(runner, settings.gateway_host, settings.gateway_port)
    try:
        await site.start()
        log.info("gateway listening on http://%s:%d", settings.gateway_host, settings.gateway_port)
        if ready is not None:
            ready.set()
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await runner.cleanup()
        await publisher.stop()
