"""Publishing what the adapters accepted, and keeping what they refused — one path for the
HTTP endpoints, the SMTP server, the IMAP poller and the sheet import.

- `accept(intake)`: the envelope on raw.<channel> (keyed by the sender), then the intake's
  ticket actions on tickets.actions (keyed by ticket id); returns only once the broker has
  acknowledged every record (acks=all) and raises `PublishError` otherwise, so the caller
  answers 503 / 451 and the sender retries. The same channel and idempotency key again within
  the process answers the same ids without publishing (and if it does reach the pipeline
  twice, the ids are the same and it collapses there).
- `refuse(channel, refusal)`: counted by channel and error code; a verified-but-unusable
  payload is kept on requests.invalid with everything needed to fix and replay it; an
  authentication failure is not published.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Protocol

from prometheus_client import Counter, Histogram

from streams.adapters.base import Intake, Refusal
from streams.catalog import TopicCatalog
from streams.domain.rejections import Rejection
from streams.models import CHANNELS
from streams.records import invalid_output
from streams.transport.publisher import PublishError

log = logging.getLogger("ticketflow.gateway")

REFUSED = Counter(
    "ticketflow_gateway_refused",
    "Payloads refused at the edge, by channel and error code (authentication failures included; "
    "those are never published).",
    ["channel", "error_code"],
)
ACCEPTED = Counter(
    "ticketflow_gateway_accepted",
    "Payloads accepted at the edge and acknowledged by the broker, by channel and adapter.",
    ["channel", "adapter"],
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


class Publisher(Protocol):
    bootstrap: str

    async def publish(self, topic: str, key: bytes | None, value: bytes) -> None: ...

    async def missing_topics(self, topics: list[str], timeout: float = 3.0) -> list[str]: ...


class IdempotencyCache:
    """Recently accepted idempotency keys → the ids answered, bounded in size and age.

    Concurrent submissions with the same key wait for the first one's publish instead of
    publishing twice.
    """

    def __init__(self, max_entries: int = 200_000, ttl_seconds: float = 24 * 3600) -> None:
        self.max_entries = max_entries
        self.ttl = ttl_seconds
        self._done: OrderedDict[tuple[str, str], tuple[float, dict]] = OrderedDict()
        self._in_flight: dict[tuple[str, str], asyncio.Future[dict]] = {}

    def get(self, scope: str, key: str) -> dict | asyncio.Future[dict] | None:
        entry = self._done.get((scope, key))
        if entry is not None:
            stored_at, answer = entry
            if time.monotonic() - stored_at <= self.ttl:
                return answer
            del self._done[(scope, key)]
        return self._in_flight.get((scope, key))

    def begin(self, scope: str, key: str) -> asyncio.Future[dict]:
        future: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self._in_flight[(scope, key)] = future
        return future

    def finish(self, scope: str, key: str, answer: dict | None, error: BaseException | None = None) -> None:
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


class RecordTooLarge(ValueError):
    """An accepted payload whose record would exceed the largest record the broker takes."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the record would be {size} bytes; at most {limit} are published (TICKETFLOW_MAX_RECORD_BYTES)"
        )
        self.size, self.limit = size, limit


# What of a payload too large to keep whole is put on requests.invalid (its first bytes; the
# sender has a permanent refusal and keeps the original).
KEPT_PREFIX_BYTES = 64 * 1024


class IntakeSink:
    def __init__(
        self,
        publisher: Publisher,
        catalog: TopicCatalog,
        cache: IdempotencyCache | None = None,
        *,
        max_record_bytes: int = 1_000_000,
    ) -> None:
        self.publisher = publisher
        self.catalog = catalog
        self.cache = cache if cache is not None else IdempotencyCache()
        self.max_record_bytes = max_record_bytes

    async def publish(self, topic: str, key: bytes | None, value: bytes) -> None:
        started = time.perf_counter()
        await self.publisher.publish(topic, key, value)
        PUBLISH_SECONDS.observe(time.perf_counter() - started)

    async def accept(self, intake: Intake) -> tuple[dict, bool]:
        """Publish an intake; (answer, duplicate). Raises PublishError when the broker did not ack."""
        scope, key = intake.cache_scope, intake.idempotency_key
        known = self.cache.get(scope, key)
        if known is not None:
            answer = await known if isinstance(known, asyncio.Future) else known
            GATEWAY_DUPLICATES.labels(intake.channel).inc()
            return answer, True
        answer: dict = {"ticket_id": intake.ticket_id}
        if intake.publish_request:
            answer = {"request_id": intake.request_id, "ticket_id": intake.ticket_id}
        if intake.actions:
            answer["action_ids"] = [action.action_id for action in intake.actions]
        records = self._records(intake)
        self.cache.begin(scope, key)
        try:
            for topic, record_key, value in records:
                await self.publish(topic, record_key, value)
        except PublishError as exc:
            self.cache.finish(scope, key, None, exc)
            raise
        except BaseException as exc:
            self.cache.finish(scope, key, None, PublishError(f"publish interrupted: {exc!r}"))
            raise
        self.cache.finish(scope, key, answer)
        ACCEPTED.labels(intake.channel, intake.adapter.split("/")[0]).inc()
        return answer, False

    def _records(self, intake: Intake) -> list[tuple[str, bytes, bytes]]:
        """(topic, key, value) of what an intake publishes; RecordTooLarge before anything is sent."""
        records = []
        if intake.publish_request:
            records.append(
                (
                    self.catalog.raw(intake.channel),
                    intake.sender_id().encode(),
                    intake.envelope().model_dump_json().encode(),
                )
            )
        for action in intake.actions:
            records.append((self.catalog.tickets_actions, action.ticket_id.encode(), action.model_dump_json().encode()))
        for _, _, value in records:
            if len(value) > self.max_record_bytes:
                raise RecordTooLarge(len(value), self.max_record_bytes)
        return records

    async def refuse(self, channel: str, refusal: Refusal, *, replay_topic: str | None = None) -> bool:
        """Count a refusal; keep a verified payload on requests.invalid. True when nothing needed
        keeping or the broker acknowledged the record; False when it could not be kept (logged:
        a mail is then left with its sender or mailbox to be tried again, nothing is lost)."""
        label = channel if channel in CHANNELS else "unknown"
        REFUSED.labels(label, refusal.error_code).inc()
        if not refusal.publish:
            return True
        if replay_topic is None and channel in CHANNELS:
            replay_topic = self.catalog.raw(channel)
        rejection, raw = refusal.rejection, refusal.raw
        if len(raw) > self.max_record_bytes // 2:  # its invalid record could not be published whole
            rejection = Rejection(
                rejection.error_code,
                f"{rejection.reason} (only the first {KEPT_PREFIX_BYTES} of {len(raw)} bytes are kept here)",
                rejection.errors,
            )
            raw = raw[:KEPT_PREFIX_BYTES]
        output = invalid_output(
            self.catalog,
            stage="gateway",
            channel=label,
            rejection=rejection,
            raw=raw,
            source=None,
            replay_topic=replay_topic,
        )
        try:
            await self.publisher.publish(output.topic, output.key, output.value)
        except PublishError as exc:
            log.error("could not record a refused %s payload on %s: %s", label, output.topic, exc)
            return False
        return True
