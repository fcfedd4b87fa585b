"""Two workers share the partitions: when a second worker joins, and later leaves, the
deadline index follows the partitions — every point fires exactly once, none is lost."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from streams.catalog import TopicCatalog
from streams.transport.broker import free_port
from tests.integration.conftest import TopicTail, post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration

POLICY = """
warn_at: [0.5]
policies:
  - name: rebalance
    match: {}
    targets: {first_response: 12s, resolution: 24s}
"""


def _status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/status", timeout=3) as response:
        return json.load(response)


def test_points_fire_once_while_partitions_move_between_workers(broker, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = stack_settings(broker, policy, partitions=4)
    supervisor = start_stack(settings, tmp_path)
    catalog = TopicCatalog(settings.topic_prefix)
    tail = TopicTail(broker.bootstrap, [catalog.sla_events])
    second_port = free_port()
    try:
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        now = datetime.now(UTC).isoformat()
        tickets = [
            post_json(
                f"{gateway}/v1/requests/webchat",
                {"text": f"请问积分怎么兑换？{n}", "customer": {"id": f"RB{n}"}, "submitted_at": now},
            )["ticket_id"]
            for n in range(40)
        ]
        time.sleep(2)
        second = supervisor.spawn("worker-2", "worker", extra_env={"TICKETFLOW_WORKER_PORT": str(second_port)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _status(second_port)["owned_partitions"]:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        split = (_status(settings.worker_port)["owned_partitions"], _status(second_port)["owned_partitions"])
        assert split[0] and split[1] and sorted(split[0] + split[1]) == [0, 1, 2, 3]

        def breaches() -> Counter:
            return Counter(
                (event["subject"], event["data"]["metric"])
                for record in tail.records(catalog.sla_events)
                for event in [orjson.loads(record.value)]
                if event["type"] == "sla.breached"
            )

        tail.wait_for(
            "first-response breaches", lambda: sum(1 for t in tickets if breaches()[(t, "first_response")]) == 40, 40
        )
        second.process.send_signal(signal.SIGTERM)  # leaves; its partitions return to the first worker
        second.process.wait(30)
        tail.wait_for("resolution breaches", lambda: sum(1 for t in tickets if breaches()[(t, "resolution")]) == 40, 60)
        time.sleep(2)
        counts = breaches()
        ids = [orjson.loads(record.value)["id"] for record in tail.records(catalog.sla_events)]
    finally:
        tail.close()
        supervisor.stop()
    assert all(counts[(ticket, metric)] == 1 for ticket in tickets for metric in ("first_response", "resolution"))
    assert len(ids) == len(set(ids))
