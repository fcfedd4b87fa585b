"""What every stage shares: the CloudEvents headers, the counted invalid-record builder and the
guard that turns an unexpected error into a record on `requests.invalid` (docs/architecture.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from streams import metrics, records
from streams.catalog import TopicCatalog
from streams.domain.rejections import Rejection
from streams.records import Output, Source

log = logging.getLogger(__name__)


# Kafka protocol binding of CloudEvents, structured content mode: the value is the whole event.
CLOUDEVENT_HEADERS: tuple[tuple[str, bytes], ...] = (("content-type", b"application/cloudevents+json; charset=utf-8"),)


def invalid_output(
    catalog: TopicCatalog, *, stage: str, channel: str, rejection: Rejection, raw: bytes, **where: object
) -> Output:
    """A rejected record for `requests.invalid` (streams/records.py), counted by stage and code."""
    metrics.INVALID_RECORDS.labels(channel, stage, rejection.error_code).inc()
    return records.invalid_output(catalog, stage=stage, channel=channel, rejection=rejection, raw=raw, **where)


def guard(
    stage: str,
    catalog: TopicCatalog,
    channel: str,
    raw: bytes,
    source: Source | None,
    replay_topic: str | None,
    step: Callable[[], list[Output]],
) -> list[Output]:
    """Run one record's step; an unexpected error sends the record to requests.invalid."""
    try:
        return step()
    except Exception as exc:  # noqa: BLE001 - one bad record must never stop the stage
        log.exception("%s: unexpected error on record at %s", stage, source)
        metrics.STAGE_ERRORS.labels(stage).inc()
        rejection = Rejection("processing_error", f"{type(exc).__name__}: {exc}")
        return [
            invalid_output(
                catalog,
                stage=stage,
                channel=channel,
                rejection=rejection,
                raw=raw,
                source=source,
                replay_topic=replay_topic,
            )
        ]
