"""SLA events on time on a real broker: warnings, breaches and every escalation level arrive
within a second of their due moments with no traffic after the requests; a reply stops a
clock; waiting on the customer moves the deadline out by the pause."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime

import orjson
import pytest

from streams.catalog import TopicCatalog
from tests.integration.conftest import TopicTail, post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration

POLICY = """
warn_at: [0.5]
escalation:
  - {level: 1, after_breach: 0s, notify: [senior_agent]}
  - {level: 2, after_breach: 2s, notify: [supervisor]}
  - {level: 3, after_breach: 4s, notify: [management]}
policies:
  - name: seconds
    match: {}
    targets: {first_response: 3s, resolution: 8s}
"""


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def test_points_fire_on_time_and_actions_stop_or_move_them(broker, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = stack_settings(broker, policy)
    supervisor = start_stack(settings, tmp_path)
    catalog = TopicCatalog(settings.topic_prefix)
    tail = TopicTail(broker.bootstrap, [catalog.sla_events])
    try:
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        start = time.time()
        ticket = {}
        for name in ("silent", "replied", "paused"):
            ticket[name] = post_json(
                f"{gateway}/v1/requests/webchat",
                {"text": f"请问会员权益有哪些？({name})", "customer": {"id": f"C-{name}"}, "submitted_at": _iso(start)},
            )["ticket_id"]
        actions = f"{gateway}/v1/tickets/{{}}/actions"
        time.sleep(max(0.0, start + 1 - time.time()))
        paused_at = time.time()
        post_json(actions.format(ticket["replied"]), {"type": "reply", "by": "agent-1", "at": _iso(paused_at)})
        post_json(actions.format(ticket["paused"]), {"type": "pending", "by": "agent-2", "at": _iso(paused_at)})
        time.sleep(max(0.0, start + 4 - time.time()))
        resumed_at = time.time()
        post_json(
            actions.format(ticket["paused"]), {"type": "customer_reply", "by": "customer", "at": _iso(resumed_at)}
        )

        def by_ticket():
            found = defaultdict(list)
            for record in tail.records(catalog.sla_events):
                event = orjson.loads(record.value)
                found[event["subject"]].append((record.timestamp / 1000.0, event))
            return found

        tail.wait_for(
            "the last escalation of the paused ticket's resolution",
            lambda: any(
                e["type"] == "sla.escalated" and e["data"]["metric"] == "resolution" and e["data"]["level"] == 3
                for _, e in by_ticket()[ticket["paused"]]
            ),
            timeout=40,
        )
        time.sleep(1.0)
        events = by_ticket()
    finally:
        tail.close()
        supervisor.stop()

    def points(name, metric):
        return sorted(
            (e["type"], e["data"]["level"])
            for _, e in events[ticket[name]]
            if e["data"]["metric"] == metric and e["type"] in ("sla.warning", "sla.breached", "sla.escalated")
        )

    full_ladder = [
        ("sla.breached", 0),
        ("sla.escalated", 1),
        ("sla.escalated", 2),
        ("sla.escalated", 3),
        ("sla.warning", 50),
    ]
    assert points("silent", "first_response") == full_ladder
    assert points("silent", "resolution") == full_ladder
    assert points("replied", "first_response") == []  # the reply came before the 1.5 s warning
    assert [
        e["data"]["within_target"]
        for _, e in events[ticket["replied"]]
        if e["type"] == "sla.fulfilled" and e["data"]["metric"] == "first_response"
    ] == [True]
    assert points("paused", "resolution") == full_ladder

    # Every point fired within a second of its moment, with no traffic after the requests.
    lateness = [
        emitted - datetime.fromisoformat(e["data"]["at"]).timestamp()
        for found in events.values()
        for emitted, e in found
        if e["type"] in ("sla.warning", "sla.breached", "sla.escalated")
    ]
    assert lateness and max(lateness) < 1.0, sorted(lateness)[-3:]
    assert all(e["data"]["late"] is False for found in events.values() for _, e in found if "late" in e["data"])

    # The pause (about 3 s) moved the paused ticket's resolution deadline out by exactly its length.
    (breach,) = [
        e for _, e in events[ticket["paused"]] if e["type"] == "sla.breached" and e["data"]["metric"] == "resolution"
    ]
    expected_due = start + 8 + (resumed_at - paused_at)
    assert abs(datetime.fromisoformat(breach["data"]["due_at"]).timestamp() - expected_due) < 0.002
    escalations = {
        e["data"]["level"]: e["data"]["notify"]
        for _, e in events[ticket["silent"]]
        if e["type"] == "sla.escalated" and e["data"]["metric"] == "first_response"
    }
    assert escalations == {1: ["senior_agent"], 2: ["supervisor"], 3: ["management"]}
