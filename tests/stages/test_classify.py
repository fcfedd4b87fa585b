"""classify: segment, repeats and the classified record."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from streams.stages.classify import ClassifyStage
from streams.stages.normalize import NormalizeStage
from streams.testing import (
    MemoryCustomerStore,
)
from tests.stages.helpers import (
    CATALOG,
    raw_record,
    through_classify,
)


def test_classify_keys_by_ticket_and_records_the_classification(classifier):
    classified = through_classify(classifier, raw_record())
    document = orjson.loads(classified.value)
    assert classified.key.decode() == document["request"]["ticket_id"]
    assert document["classification"]["type"] == "after_sales"


def test_classify_takes_the_segment_from_the_customers_crm_profile(classifier):
    from streams.models import CustomerProfile

    stage = ClassifyStage(CATALOG, classifier, MemoryCustomerStore())
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(text="请问营业时间是几点？"), "app")
    customer_id = normalized.key.decode()
    stage.on_profile(CustomerProfile(customer_id=customer_id, tier="vip").model_dump_json().encode(), 0)
    (classified,) = stage.process(normalized.value)
    classification = orjson.loads(classified.value)["classification"]
    assert classification["segment"] == "vip" and classification["urgency"] == "high"


def test_a_customer_is_new_until_thirty_local_days_have_passed_since_the_crm_date(classifier):
    from datetime import date

    from streams.models import CustomerProfile

    stage = ClassifyStage(CATALOG, classifier, MemoryCustomerStore(), local_zone="Asia/Shanghai")
    # 17:00 UTC on 19 November is already 01:00 on 20 November in Shanghai: day 30, no longer new.
    submitted = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
    (normalized,) = NormalizeStage(CATALOG).process(raw_record(text="请问营业时间是几点？", submitted=submitted), "app")
    profile = CustomerProfile(customer_id=normalized.key.decode(), customer_since=date(2026, 10, 21))
    stage.on_profile(profile.model_dump_json().encode(), 0)
    (classified,) = stage.process(normalized.value)
    assert orjson.loads(classified.value)["classification"]["segment"] == "regular"
    stage.local_zone = UTC  # read in UTC the same moment is still 19 November: day 29
    (classified,) = stage.process(normalized.value)
    assert orjson.loads(classified.value)["classification"]["segment"] == "new"


def test_classify_links_a_repeated_request_to_the_earlier_ticket(classifier):
    stage = ClassifyStage(CATALOG, classifier, MemoryCustomerStore())
    first, second = (
        NormalizeStage(CATALOG).process(raw_record(text="订单2026051300123的包裹还没收到", key=key), "app")[0]
        for key in ("k1", "k2")
    )
    (one,) = stage.process(first.value)
    (two,) = stage.process(second.value)
    assert orjson.loads(one.value)["classification"]["repeat_of"] is None
    assert orjson.loads(two.value)["classification"]["repeat_of"] == one.key.decode()
