"""Chaos under load: the worker SIGKILLed and restarted twice and the gateway SIGKILLed once while
requests stream in through the gateway. A client retries what was not answered 202 with the same
idempotency key, as a real integration does. Every request answered 202 reaches exactly one
primary department, and no event appears under two different ids."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict

import pytest

from streams import ids
from streams.catalog import TopicCatalog
from tests.integration.conftest import AUTH, TopicTail, stack_settings, start_stack

pytestmark = pytest.mark.integration

RATE = 40  # requests per second
DURATION = 20.0  # seconds of load
TEXTS = [
    "订单还没发货，想修改收货地址",
    "APP一直闪退无法登录",
    "I was charged twice for one order",
    "请问会员积分怎么兑换？",
]


def _post(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **AUTH},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:  # the gateway is down: no answer
        return 0


def test_worker_killed_twice_and_gateway_killed_once_under_load_lose_and_double_nothing(broker, tmp_path):
    settings = stack_settings(broker)
    catalog = TopicCatalog(settings.topic_prefix)
    departments = list(settings.routing.departments)
    supervisor = start_stack(settings, tmp_path)  # creates the topics the tail reads from the beginning
    tail = TopicTail(
        settings.bootstrap_servers, [catalog.department(name) for name in departments] + [catalog.sla_events]
    )
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/v1/requests/store"
    accepted: set[str] = set()
    unanswered: list[dict] = []
    stop = threading.Event()

    def load() -> None:
        number = 0
        started = time.monotonic()
        while not stop.is_set() and time.monotonic() - started < DURATION:
            body = {
                "text": TEXTS[number % len(TEXTS)],
                "customer": {"id": f"C{number % 200}"},
                "idempotency_key": f"chaos-{number}",
            }
            (accepted.add(body["idempotency_key"]) if _post(url, body) == 202 else unanswered.append(body))
            number += 1
            time.sleep(max(0.0, started + number / RATE - time.monotonic()))

    loader = threading.Thread(target=load, daemon=True)
    try:
        loader.start()
        for victim in ("worker", "gateway", "worker"):  # at about 5, 10 and 15 s into the load
            time.sleep(5)
            (child,) = [child for child in supervisor.children if child.name == victim]
            child.process.kill()
            child.process.wait(10)
            supervisor.children.remove(child)
            supervisor.spawn(victim, victim)
            if victim == "gateway":
                supervisor.wait_until("gateway", supervisor.gateway_ready, timeout=60)
        loader.join(DURATION + 30)
        # What the gateway did not answer while it was down, the client sends again.
        for body in unanswered:
            for _ in range(20):
                if _post(url, body) == 202:
                    accepted.add(body["idempotency_key"])
                    break
                time.sleep(0.5)
        supervisor.wait_until("worker", supervisor.worker_ready, timeout=90)
        expected = {ids.ticket_id("store", key, ids.CLIENT_KEYS) for key in accepted}

        def owners() -> dict[str, list[str]]:
            found: dict[str, list[str]] = defaultdict(list)
            for name in departments:
                for record in tail.records(catalog.department(name)):
                    event = json.loads(record.value)
                    if event["data"]["role"] == "owner":
                        found[event["data"]["ticket_id"]].append(name)
            return found

        tail.wait_for("every accepted request routed", lambda: expected <= set(owners()), 120)
        time.sleep(2)
        routed = owners()
        assert len(accepted) > RATE * DURATION * 0.8
        assert set(routed) == expected, (len(set(routed) - expected), len(expected - set(routed)))
        assert all(len(set(found)) == 1 for found in routed.values())  # one primary department each
        # A redelivered event keeps its id: one id per (ticket, type, department or metric, level).
        ids_by_identity: dict[tuple, set[str]] = defaultdict(set)
        for topic in [catalog.department(name) for name in departments] + [catalog.sla_events]:
            for record in tail.records(topic):
                event = json.loads(record.value)
                data = event["data"]
                identity = (
                    event["subject"],
                    event["type"],
                    data.get("department"),
                    data.get("role"),
                    data.get("metric"),
                    data.get("cycle"),
                    data.get("level"),
                    data.get("at_fraction"),
                )
                ids_by_identity[identity].add(event["id"])
        assert [identity for identity, found in ids_by_identity.items() if len(found) > 1] == []
    finally:
        stop.set()
        supervisor.stop()
        tail.close()
