"""normalize: raw.<channel> → requests.normalized (keyed by customer id) or requests.invalid."""

from __future__ import annotations

from streams import metrics
from streams.adapters.normalize import Rejection, Skip, normalize_record
from streams.catalog import TopicCatalog
from streams.domain.identity import Lookup
from streams.records import Output, Source
from streams.stages.common import guard, invalid_output


class NormalizeStage:
    """raw.<channel> → requests.normalized (keyed by customer id) or requests.invalid.

    Records that are part of a channel's log but not a request (a call being offered, a WeChat
    Work event) produce nothing and are counted. `contacts` is the contact index (contact key →
    customer id, see streams/domain/identity.py); without it customers get the fallback id.
    """

    def __init__(self, catalog: TopicCatalog, contacts: Lookup | None = None) -> None:
        self.catalog = catalog
        self.contacts = contacts

    def process(self, raw: bytes, channel: str, source: Source | None = None) -> list[Output]:
        return guard(
            "normalize",
            self.catalog,
            channel,
            raw,
            source,
            self.catalog.raw(channel),
            lambda: self._process(raw, channel, source),
        )

    def _process(self, raw: bytes, channel: str, source: Source | None) -> list[Output]:
        found: list[str] = []
        lookup = None
        if self.contacts is not None:
            contacts = self.contacts

            def lookup(key: str) -> str | None:
                customer = contacts(key)
                if customer and not found:
                    found.append(key.split(":", 1)[0])
                return customer

        result, envelope = normalize_record(raw, lookup)
        if isinstance(result, Skip):
            metrics.RAW_SKIPPED.labels(channel, result.kind).inc()
            return []
        if envelope is not None and envelope.channel != channel:
            result = Rejection(
                "channel_mismatch",
                f"envelope says channel {envelope.channel!r} but arrived on the topic of channel {channel!r}",
            )
        if isinstance(result, Rejection):
            return [
                invalid_output(
                    self.catalog,
                    stage="normalize",
                    channel=channel,
                    rejection=result,
                    raw=raw,
                    source=source,
                    request_id=envelope.request_id if envelope else None,
                    envelope=envelope,
                    replay_topic=self.catalog.raw(channel),
                )
            ]
        metrics.REQUESTS_NORMALIZED.labels(channel).inc()
        metrics.CUSTOMERS_RESOLVED.labels(f"profile:{found[0]}" if found else "fallback").inc()
        return [
            Output(self.catalog.requests_normalized, result.customer_id.encode(), result.model_dump_json().encode())
        ]
