"""Repair by replay on a real broker: a tighter policy file is replayed over the log, the
what-if report names the changes, and --apply makes the running worker move the clocks:
breaches the new policy puts in the past are emitted once, marked late."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from streams.catalog import TopicCatalog
from streams.supervisor import settings_environment
from tests.integration.conftest import TopicTail, post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration

LOOSE = "policies:\n  - name: loose\n    match: {}\n    targets: {first_response: 1h, resolution: 24h}\n"
TIGHT = "policies:\n  - name: tight\n    match: {}\n    targets: {first_response: 5m, resolution: 24h}\n"


def _ticketflow(settings, *args: str) -> str:
    env = {**os.environ, **settings_environment(settings)}
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_replay_reports_then_applies_a_tighter_policy(broker, tmp_path):
    loose, tight = tmp_path / "loose.yaml", tmp_path / "tight.yaml"
    loose.write_text(LOOSE, encoding="utf-8")
    tight.write_text(TIGHT, encoding="utf-8")
    settings = stack_settings(broker, loose)
    supervisor = start_stack(settings, tmp_path)
    catalog = TopicCatalog(settings.topic_prefix)
    tail = TopicTail(broker.bootstrap, [catalog.sla_events])
    try:
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        twenty_minutes_ago = (datetime.now(UTC) - timedelta(minutes=20)).isoformat()
        silent = [
            post_json(
                f"{gateway}/v1/requests/webchat",
                {"text": f"请问会员权益？{n}", "customer": {"id": f"R{n}"}, "submitted_at": twenty_minutes_ago},
            )["ticket_id"]
            for n in range(3)
        ]
        answered = post_json(
            f"{gateway}/v1/requests/webchat",
            {"text": "请问积分？", "customer": {"id": "R9"}, "submitted_at": twenty_minutes_ago},
        )["ticket_id"]
        post_json(f"{gateway}/v1/tickets/{answered}/actions", {"type": "reply", "by": "agent-1"})
        tail.wait_for("activations", lambda: len(tail.records(catalog.sla_events)) >= 8 + 1, timeout=30)

        what_if = _ticketflow(settings, "sla", "replay", "--policy", str(tight), "--json", str(tmp_path / "r.json"))
        assert "tickets replayed since the beginning of the log: 4" in what_if
        # The answered ticket's reply came after 20 minutes: the tighter policy would have breached it too.
        assert "policy loose → tight: 4" in what_if and "breaches the new policy adds: 4" in what_if
        details = json.loads((tmp_path / "r.json").read_text())
        assert {c["ticket_id"] for c in details["changes"] if c["new_breaches"]} == {*silent, answered}
        assert not [r for r in tail.records(catalog.sla_events) if orjson.loads(r.value)["type"] == "sla.breached"]

        applied = _ticketflow(settings, "sla", "replay", "--policy", str(tight), "--from", "1h", "--apply")
        assert "repairs published to tickets.actions: 4" in applied

        def breaches():
            return [
                orjson.loads(r.value)
                for r in tail.records(catalog.sla_events)
                if orjson.loads(r.value)["type"] == "sla.breached"
            ]

        tail.wait_for("breaches after the repair", lambda: len(breaches()) >= 3, timeout=30)
        _ticketflow(settings, "sla", "replay", "--policy", str(tight), "--apply")  # applying again repeats nothing
        time.sleep(3)
        found = breaches()
    finally:
        tail.close()
        supervisor.stop()
    # Only the open clocks emit: the silent tickets' first responses, once each, late, under the new policy.
    assert sorted(event["subject"] for event in found) == sorted(silent)
    assert all(event["data"]["late"] and event["data"]["policy"] == "tight" for event in found)
