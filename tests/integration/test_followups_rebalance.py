"""Follow-ups while partitions move: a second worker joins while surveys are waiting and leaves
while others are; every resolved ticket gets exactly one survey, whichever worker owns it."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
import uuid
from collections import defaultdict

import orjson
import pytest

from streams.catalog import TopicCatalog
from streams.domain.config_files import bundled_file
from streams.transport.broker import free_port
from tests.integration.conftest import TopicTail, post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration

POLICY = """
policies:
  - name: long
    match: {}
    targets: {first_response: 1h, resolution: 1h}
"""
FOLLOWUPS = """
quiet_hours: null
suppression: 60s
surveys:
  - name: default
    match: {}
    after_resolution: 10s
"""


def _owned(port: int) -> list[int]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/status", timeout=3) as response:
            return json.load(response)["owned_partitions"]
    except OSError:
        return []


def _resolve(gateway: str, count: int, run: str) -> list[str]:
    tickets = []
    for number in range(count):
        body = {"text": f"请问会员积分怎么查询？{run}-{number}", "customer": {"id": f"RBF-{run}-{number}"}}
        ticket = post_json(f"{gateway}/v1/requests/app", body)["ticket_id"]
        for kind in ("reply", "resolve"):
            post_json(f"{gateway}/v1/tickets/{ticket}/actions", {"type": kind, "by": "agent-1"})
        tickets.append(ticket)
    return tickets


def test_each_survey_fires_once_while_partitions_move(broker, tmp_path):
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "followups.yaml").write_text(FOLLOWUPS, encoding="utf-8")
    settings = stack_settings(
        broker,
        tmp_path / "policy.yaml",
        followup_file=tmp_path / "followups.yaml",
        care_file=bundled_file("care-demo.yaml"),
    )
    supervisor = start_stack(settings, tmp_path)
    catalog = TopicCatalog(settings.topic_prefix)
    tail = TopicTail(broker.bootstrap, [catalog.followups])
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    run = uuid.uuid4().hex[:6]

    def surveys() -> dict[str, set[str]]:
        found = defaultdict(set)
        for record in tail.records(catalog.followups):
            event = orjson.loads(record.value)
            if event["type"] == "followup.survey_due":
                found[event["subject"]].add(event["id"])
        return found

    try:
        first = _resolve(gateway, 20, f"{run}-a")  # waiting while the second worker joins
        port = free_port()
        second = supervisor.spawn("worker-2", "worker", extra_env={"TICKETFLOW_WORKER_PORT": str(port)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _owned(port):
            time.sleep(0.5)
        assert _owned(port) and _owned(settings.worker_port)
        tail.wait_for("the first surveys", lambda: all(surveys()[t] for t in first), 40)
        later = _resolve(gateway, 20, f"{run}-b")  # waiting while the second worker leaves
        second.process.send_signal(signal.SIGTERM)
        second.process.wait(30)
        tail.wait_for("the later surveys", lambda: all(surveys()[t] for t in later), 60)
        time.sleep(2)
        found = surveys()
    finally:
        tail.close()
        supervisor.stop()
    assert all(len(found[ticket]) == 1 for ticket in first + later)
