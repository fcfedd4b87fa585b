"""classify: requests.normalized → requests.classified (keyed by ticket id)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from streams import metrics
from streams.adapters.normalize import Rejection, describe_validation_error
from streams.catalog import TopicCatalog
from streams.domain import customers, text
from streams.domain.classification import Classifier
from streams.models import CanonicalRequest, ClassifiedRequest, CustomerProfile
from streams.records import Output, Source
from streams.stages.common import guard, invalid_output
from streams.state.stores import CustomerStore


class ClassifyStage:
    """requests.normalized → requests.classified (keyed by ticket id), with the customer's segment
    from customers.profiles and repeat requests linked to the earlier ticket."""

    def __init__(
        self,
        catalog: TopicCatalog,
        classifier: Classifier,
        customer_store: CustomerStore | None = None,
        *,
        repeat_window_seconds: float = 72 * 3600,
        new_customer_days: int = 30,
        key_partition: Callable[[str], int] | None = None,
        local_zone: str = "Asia/Shanghai",
    ) -> None:
        self.catalog = catalog
        self.classifier = classifier
        self.customers = customer_store
        self.key_partition = key_partition
        self.repeat_window = repeat_window_seconds
        self.new_customer_days = new_customer_days
        self.local_zone = ZoneInfo(local_zone)  # the CRM's "customer since" is a local date

    def process(self, raw: bytes, source: Source | None = None, partition: int = 0) -> list[Output]:
        return guard(
            "classify",
            self.catalog,
            "unknown",
            raw,
            source,
            self.catalog.requests_normalized,
            lambda: self._process(raw, source, partition),
        )

    def on_profile(self, raw: bytes, partition: int, source: Source | None = None) -> None:
        """A CRM profile (customers.profiles): remember the customer's tier and since-date."""
        if self.customers is None:
            return
        try:
            profile = CustomerProfile.model_validate_json(raw)
        except ValidationError:
            return  # the identity agent reports unreadable profiles; nothing to count twice
        # Stored under the customer's own partition (where its requests arrive), whichever
        # partition the CRM's client produced the profile to.
        home = self.key_partition(profile.customer_id) if self.key_partition is not None else partition
        self.customers.put(
            home, profile.customer_id, customers.apply_profile(self.customers.get(profile.customer_id), profile)
        )

    def _process(self, raw: bytes, source: Source | None, partition: int) -> list[Output]:
        try:
            request = CanonicalRequest.model_validate_json(raw)
        except ValidationError as exc:
            reason, details = describe_validation_error(exc)
            return [
                invalid_output(
                    self.catalog,
                    stage="classify",
                    channel="unknown",
                    raw=raw,
                    source=source,
                    rejection=Rejection("invalid_request", f"not a normalized request: {reason}", details),
                    replay_topic=self.catalog.requests_normalized,
                )
            ]
        record = self.customers.get(request.customer_id) if self.customers is not None else None
        today = request.submitted_at.astimezone(self.local_zone).date()
        segment = customers.segment(record, request.customer.tier, today, self.new_customer_days)
        decision = self.classifier.decide(request.text, request.subject, segment=segment)
        classification = decision.classification
        if self.customers is not None:
            # The text the classifier read; its segmentation comes from the cache.
            tokens = customers.significant_tokens(text.tokens(decision.normalized))
            submitted_at = request.submitted_at.timestamp()
            facts = dict(
                ticket_id=request.ticket_id,
                request_type=classification.type,
                tokens=tokens,
                submitted_at=submitted_at,
                window=self.repeat_window,
            )
            repeat_of = customers.find_repeat(record, **facts)
            if repeat_of is not None:
                classification.repeat_of = repeat_of
                classification.reasons.append(f"repeat of {repeat_of} (same customer, same issue)")
                metrics.REPEATS.labels(request.channel, classification.type).inc()
            self.customers.put(partition, request.customer_id, customers.remember(record, **facts))
        metrics.CLASSIFIED.labels(classification.type, classification.urgency).inc()
        classified = ClassifiedRequest(request=request, classification=classification)
        return [
            Output(self.catalog.requests_classified, request.ticket_id.encode(), classified.model_dump_json().encode())
        ]
