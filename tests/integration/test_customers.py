"""The customer's CRM segment and repeat requests on a real broker: a profile on
customers.profiles makes the customer VIP for the classifier (whatever the channel says), and
the same issue asked again is linked to the first ticket."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.catalog import TopicCatalog
from streams.models import ContactIds, CustomerProfile
from tests.integration.conftest import TopicTail, post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration


async def _publish_profile(bootstrap: str, topic: str, profile: CustomerProfile) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, profile.model_dump_json().encode(), key=profile.customer_id.encode())
    finally:
        await producer.stop()


def test_crm_segment_and_repeat_requests_reach_the_classification(broker, tmp_path):
    settings = stack_settings(broker)
    supervisor = start_stack(settings, tmp_path)
    catalog = TopicCatalog(settings.topic_prefix)
    tail = TopicTail(broker.bootstrap, [catalog.requests_classified])
    try:
        profile = CustomerProfile(customer_id="CRM-7001", tier="vip", contacts=ContactIds(phones=["13912345678"]))
        asyncio.run(_publish_profile(broker.bootstrap, catalog.customers_profiles, profile))
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        body = {"text": "订单2026112200042的包裹还没收到，请帮忙查一下", "customer": {"phone": "+86 139-1234-5678"}}
        first = second = None
        for attempt in range(40):  # until the profile has reached the contact index and the customer table
            answer = post_json(f"{gateway}/v1/requests/app", {**body, "idempotency_key": f"try-{attempt}"})
            tail.wait_for(
                "classification",
                lambda: any(r.key.decode() == answer["ticket_id"] for r in tail.records(catalog.requests_classified)),
                20,
            )
            found = {r.key.decode(): orjson.loads(r.value) for r in tail.records(catalog.requests_classified)}
            if found[answer["ticket_id"]]["request"]["customer_id"] == "CRM-7001":
                if first is None:
                    first = answer["ticket_id"]
                else:
                    second = answer["ticket_id"]
                    break
            else:
                time.sleep(0.5)
        classified = {r.key.decode(): orjson.loads(r.value) for r in tail.records(catalog.requests_classified)}
    finally:
        tail.close()
        supervisor.stop()
    assert first and second, "the CRM profile never reached the pipeline"
    assert classified[first]["classification"]["segment"] == "vip"
    assert classified[second]["classification"]["repeat_of"] == first
