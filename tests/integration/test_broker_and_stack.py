"""The embedded broker and `ticketflow up` as a user runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from streams.catalog import TopicSpec
from streams.supervisor import http_ok
from streams.transport.admin import TopicSetupError, ensure_topics
from streams.transport.broker import (
    BrokerError,
    EmbeddedBroker,
    free_port,
    kafka_api_versions_ok,
)

pytestmark = pytest.mark.integration


def test_embedded_broker_answers_kafka_and_stops_cleanly():
    broker = EmbeddedBroker(port=0).start()
    pid = broker.process.pid
    assert kafka_api_versions_ok("127.0.0.1", broker.port)
    broker.stop()
    assert not _alive(pid)


def test_a_taken_port_is_reported_not_mistaken_for_our_broker(broker):
    with pytest.raises(BrokerError, match="already in use"):
        EmbeddedBroker(port=broker.port).start()


def test_topics_are_created_once_and_a_partition_mismatch_is_explained(broker):
    async def scenario():
        first = await ensure_topics(broker.bootstrap, [TopicSpec("adm.a", 3), TopicSpec("adm.b", 3)])
        again = await ensure_topics(broker.bootstrap, [TopicSpec("adm.a", 3)])
        with pytest.raises(TopicSetupError, match="adm.a has 3 partitions, expected 5"):
            await ensure_topics(broker.bootstrap, [TopicSpec("adm.a", 5)])
        return first, again

    first, again = asyncio.run(scenario())
    assert sorted(first) == ["adm.a", "adm.b"] and again == []


def test_unreachable_broker_is_a_clear_error():
    with pytest.raises(TopicSetupError, match="cannot reach Kafka"):
        asyncio.run(ensure_topics(f"127.0.0.1:{free_port()}", [TopicSpec("x", 1)], timeout=3))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not alive
        return stat.read().split()[2] != "Z"


def _descendants(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
                found.extend(_descendants(int(entry)))
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "terminal-closed"])
def test_up_says_ready_only_when_ready_and_a_stop_leaves_no_process_behind(tmp_path, stop_signal):
    gateway_port, worker_port = free_port(), free_port()
    env = {**os.environ, "TICKETFLOW_SESSION_TIMEOUT": "3", "TICKETFLOW_APP_ID": f"up-{os.getpid()}"}
    env.pop("TICKETFLOW_BROKER_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "up",
            "--gateway-port",
            str(gateway_port),
            "--worker-port",
            str(worker_port),
            "--smtp-port",
            str(free_port()),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(line.startswith("ready") for line in lines):
            assert process.poll() is None, "".join(lines)
            time.sleep(0.2)
        assert any(line.startswith("ready") for line in lines), "".join(lines)
        assert http_ok(f"http://127.0.0.1:{gateway_port}/healthz")[0]
        ready, body = http_ok(f"http://127.0.0.1:{gateway_port}/readyz")
        assert ready and b'"worker": "ready"' in body, body
        assert http_ok(f"http://127.0.0.1:{worker_port}/metrics")[0]
        children = _descendants(process.pid)
        assert len(children) >= 3  # broker, worker, gateway
        process.send_signal(stop_signal)
        process.wait(timeout=60)
        reader.join(10)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "gateway  http://127.0.0.1" in output and "stopped" in output
    time.sleep(0.5)
    assert [pid for pid in children if _alive(pid)] == []


def test_a_worker_whose_broker_is_gone_exits_within_20_seconds_of_sigterm(tmp_path):
    from streams.supervisor import Supervisor
    from tests.integration.conftest import stack_settings

    own_broker = EmbeddedBroker(port=0).start()  # this test kills it: not the session's broker
    supervisor = None
    try:
        settings = stack_settings(own_broker)
        from streams.catalog import pipeline_topic_specs

        asyncio.run(ensure_topics(settings.bootstrap_servers, pipeline_topic_specs(settings)))
        supervisor = Supervisor(settings, log_dir=tmp_path)
        worker = supervisor.spawn("worker", "worker")
        supervisor.wait_until("worker", supervisor.worker_ready, timeout=90)
        own_broker.process.kill()
        own_broker.process.wait(5)
        time.sleep(1)
        started = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        worker.process.wait(timeout=25)
        assert time.monotonic() - started < 20
    finally:
        if supervisor is not None:
            supervisor.stop(grace=1)
        own_broker.stop()
