"""Downstream systems use other Kafka clients: department desks and SLA consumers read with
confluent-kafka (librdkafka) and parse with the CloudEvents SDK's Kafka binding."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from confluent_kafka import Consumer

from streams.catalog import TopicCatalog
from tests.integration.conftest import post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration

POLICY = """
warn_at: [0.5]
policies:
  - name: tiny
    match: {}
    targets: {first_response: 2s, resolution: 4s}
"""
REQUESTS = [
    ("app", "APP一直闪退，无法登录"),
    ("email", "I want a refund, my parcel arrived damaged"),
    ("wecom", "我要投诉，客服态度太差"),
    ("phone", "请问会员权益有哪些？"),
]


def test_department_and_sla_topics_read_with_librdkafka_parse_as_cloudevents(broker, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = stack_settings(broker, policy)
    supervisor = start_stack(settings, tmp_path)
    try:
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        earlier = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        tickets = {
            post_json(
                f"{gateway}/v1/requests/{channel}", {"text": text, "customer": {"id": f"C{n}"}, "submitted_at": earlier}
            )["ticket_id"]
            for n, (channel, text) in enumerate(REQUESTS)
        }
        catalog = TopicCatalog(settings.topic_prefix)
        topics = [catalog.sla_events, *[catalog.department(name) for name in settings.routing.departments]]
        consumer = Consumer(
            {
                "bootstrap.servers": broker.bootstrap,
                "group.id": f"desk-{settings.app_id}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe(topics)
        events = []
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is None:
                    breached = {e.get_subject() for e in events if e.get_type() == "sla.breached"}
                    if {
                        e.get_subject() for e in events if e.get_type() == "ticket.routed"
                    } >= tickets and breached >= tickets:
                        break
                    continue
                assert message.error() is None, message.error()
                headers = dict(message.headers() or [])
                assert headers["content-type"].startswith(b"application/cloudevents+json")
                events.append(from_kafka_event(KafkaMessage(headers=headers, key=message.key(), value=message.value())))
        finally:
            consumer.close()
    finally:
        supervisor.stop()

    routed = [event for event in events if event.get_type() == "ticket.routed"]
    assert {event.get_subject() for event in routed} >= tickets
    for event in routed:
        assert event.get_specversion() == "1.0" and event.get_source() == "/ticketflow/route"
        assert event.get_data()["department"] in settings.routing.departments
        assert event.get_extension("partitionkey") == event.get_subject()  # keyed by ticket id
    breaches = [event for event in events if event.get_type() == "sla.breached"]
    assert {event.get_subject() for event in breaches} == tickets
    for event in breaches:
        assert event.get_time() is not None and event.get_data()["metric"] in ("first_response", "resolution")
    assert len({event.get_id() for event in events}) == len(events)
