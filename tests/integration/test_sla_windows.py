"""SLA windows on a real broker: closed hour windows reach `sla.windows`, and the current
windows of a department can be read over HTTP from any worker."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from streams.catalog import TopicCatalog
from tests.integration.conftest import TopicTail, post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration


def test_closed_windows_are_emitted_and_current_ones_are_queryable(broker, tmp_path):
    settings = stack_settings(broker, window_grace_seconds=1.0)
    supervisor = start_stack(settings, tmp_path)
    catalog = TopicCatalog(settings.topic_prefix)
    tail = TopicTail(broker.bootstrap, [catalog.sla_windows])
    try:
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
        for number in range(3):
            # An urgent fault: a 24/7 policy with a 90-minute first response, breached long ago.
            post_json(
                f"{gateway}/v1/requests/phone",
                {
                    "text": "系统宕机了，紧急！所有用户都无法登录",
                    "customer": {"id": f"W{number}"},
                    "submitted_at": three_hours_ago.isoformat(),
                },
            )
        tail.wait_for(
            "a closed hour window",
            lambda: any(orjson.loads(r.value)["data"]["size"] == "hour" for r in tail.records(catalog.sla_windows)),
            timeout=40,
        )
        time.sleep(6)  # another closing round: nothing is emitted twice
        closed = [orjson.loads(record.value) for record in tail.records(catalog.sla_windows)]
        url = f"http://{settings.worker_host}:{settings.worker_port}/v1/sla/windows?department=product"
        with urllib.request.urlopen(url, timeout=5) as response:
            current = json.load(response)
    finally:
        tail.close()
        supervisor.stop()

    hours = [event for event in closed if event["data"]["size"] == "hour"]
    assert len(hours) == len({event["id"] for event in hours})
    received = sum(event["data"]["received"] for event in hours)
    breaches = sum(sum(event["data"]["breached"].values()) for event in hours)
    assert received == 3 and breaches >= 3
    assert all(event["type"] == "sla.window.closed" and event["subject"] == "product" for event in hours)
    sizes = {window["size"] for window in current["windows"]}
    assert sizes == {"hour", "day"} and current["department"] == "product"
    assert sum(window["received"] for window in current["windows"] if window["size"] == "day") == 3
