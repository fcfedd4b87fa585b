"""The report read from a real broker: its counts are the topics' counts."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import datetime

import orjson
import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from bench.week import Week, produce
from streams.report.cli import make_report
from tests.report.conftest import DAYS, FIRST, ZONE, period

pytestmark = pytest.mark.integration


def read_all(bootstrap: str, prefix: str) -> dict[str, list[bytes]]:
    """Every record of the prefix's topics, read to the end with a plain consumer."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    topics = consumer.list_topics(timeout=20).topics
    assignment = [
        TopicPartition(name, p, 0) for name in topics if name.startswith(prefix) for p in topics[name].partitions
    ]
    consumer.assign(assignment)
    found: dict[str, list[bytes]] = {}
    quiet, deadline = 0, time.monotonic() + 120
    while quiet < 3 and time.monotonic() < deadline:
        messages = consumer.consume(num_messages=10_000, timeout=0.5)
        quiet = 0 if any(m.error() is None for m in messages) else quiet + 1
        for message in messages:
            if message.error() is None:
                found.setdefault(message.topic()[len(prefix) :], []).append(message.value())
            elif message.error().code() != KafkaError._PARTITION_EOF:
                raise AssertionError(message.error().str())
    consumer.close()
    return found


def expected_counts(topics: dict[str, list[bytes]]) -> tuple[dict[str, int], Counter, Counter, int]:
    start, end = period().bounds()
    types: dict[str, str] = {}
    channels: Counter = Counter()
    for value in topics["requests.classified"]:
        document = orjson.loads(value)
        request = document["request"]
        if start <= datetime.fromisoformat(request["submitted_at"]).timestamp() < end:
            types[request["ticket_id"]] = document["classification"]["type"]
            channels[request["channel"]] += 1
    kinds: dict[str, set[str]] = {
        "breached": set(),
        "escalated": set(),
        "reopened": set(),
        "resolved": set(),
        "first_responses": set(),
    }
    for value in topics["sla.events"]:
        event = orjson.loads(value)
        data = event["data"]
        if data["ticket_id"] not in types:
            continue
        kind = event["type"]
        if kind == "sla.breached":
            kinds["breached"].add(data["ticket_id"])
        elif kind == "sla.escalated":
            kinds["escalated"].add(data["ticket_id"])
        elif kind == "sla.activated" and data["metric"] == "resolution" and data["cycle"] > 1:
            kinds["reopened"].add(data["ticket_id"])
        elif kind == "sla.fulfilled" and data["metric"] == "resolution":
            kinds["resolved"].add(data["ticket_id"])
        elif kind == "sla.fulfilled" and data["metric"] == "first_response" and data["cycle"] == 1:
            kinds["first_responses"].add(data["ticket_id"])
    answers = {
        orjson.loads(v)["ticket_id"] for v in topics.get("feedback", []) if orjson.loads(v)["ticket_id"] in types
    }
    received_in_windows = sum(
        orjson.loads(v)["data"]["received"]
        for v in topics["sla.windows"]
        if orjson.loads(v)["data"]["size"] == "day"
        and start <= datetime.fromisoformat(orjson.loads(v)["data"]["start"]).timestamp() < end
    )
    counts = {
        "requests": len(types),
        "complaints": sum(1 for t in types.values() if t == "complaint"),
        **{name: len(ids) for name, ids in kinds.items()},
        "csat_answers": len(answers),
    }
    return counts, Counter(types.values()), channels, received_in_windows


def test_report_counts_are_the_topics_counts(broker, tmp_path) -> None:  # noqa: ANN001
    prefix = f"rep{uuid.uuid4().hex[:6]}."
    written = produce(broker.bootstrap, prefix, Week(FIRST, DAYS, 150, seed=21).records())
    topics = read_all(broker.bootstrap, prefix)
    assert {name: len(values) for name, values in topics.items()} == written  # the broker holds what was written
    expected, types, channels, received_in_windows = expected_counts(topics)
    assert expected["requests"] > 300 and expected["breached"] > 0 and expected["reopened"] > 0

    document, review = make_report(
        bootstrap=broker.bootstrap,
        prefix=prefix,
        first=period().first,
        last=period().last,
        zone=ZONE,
        kpi_path=None,
        output_format="markdown",
        follow_days=0,
    )
    for name, count in expected.items():
        assert review.counts[name] == count, name
    assert {row["label"]: row["count"] for row in review.pareto_types} == dict(types)
    assert {row["channel"]: row["requests"] for row in review.channels} == dict(channels)
    assert sum(row["received"] for row in review.compliance) == received_in_windows == expected["requests"]
    assert review.read == {prefix + name: len(values) for name, values in topics.items()}  # every record read once
    # the document shows the same numbers
    assert f"| count: requests | {expected['requests']} |" in document
    assert (
        f"## 8. 超时工单 Breached tickets ({expected['breached']} tickets, {review.breached_total} targets)" in document
    )
    assert review.breached_total >= expected["breached"]  # one row per breached target
    for _kind, count in types.items():
        assert f"{count} |" in document

    html_document, _ = make_report(
        bootstrap=broker.bootstrap,
        prefix=prefix,
        first=period().first,
        last=period().last,
        zone=ZONE,
        kpi_path=None,
        output_format="html",
        follow_days=0,
    )
    assert f'<td class="num">{expected["requests"]:,}</td>' in html_document
    assert "<svg" in html_document


def test_empty_feedback_topic_and_cli(broker, tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from streams.cli import main

    prefix = f"rep{uuid.uuid4().hex[:6]}."
    produce(broker.bootstrap, prefix, Week(FIRST, DAYS, 30, seed=4, feedback=False).records())
    out = tmp_path / "review.html"
    result = CliRunner().invoke(
        main,
        [
            "report",
            "--broker",
            broker.bootstrap,
            "--from",
            str(period().first),
            "--to",
            str(period().last),
            "--out",
            str(out),
            "--follow-days",
            "0",
        ],
        env={"TICKETFLOW_TOPIC_PREFIX": prefix},
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "no survey answers" in text
    assert "requests" in result.output and "targets met" in result.output
    markdown = tmp_path / "review.md"
    result = CliRunner().invoke(
        main,
        [
            "report",
            "--broker",
            broker.bootstrap,
            "--from",
            str(period().first),
            "--to",
            str(period().last),
            "--out",
            str(markdown),
            "--format",
            "markdown",
            "--kpi-file",
            "streams/config/kpis-seed004.yaml",
        ],
        env={"TICKETFLOW_TOPIC_PREFIX": prefix},
    )
    assert result.exit_code == 0, result.output
    assert "seed-004" in markdown.read_text(encoding="utf-8")


def test_cli_errors_are_clear(broker, tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from streams.cli import main

    runner = CliRunner()
    base = ["report", "--broker", broker.bootstrap, "--out", str(tmp_path / "x.html")]
    result = runner.invoke(main, base + ["--from", "2026-10-07", "--to", "2026-10-05"])
    assert result.exit_code != 0 and "--to is before --from" in result.output
    result = runner.invoke(main, base + ["--from", "last week", "--to", "2026-10-05"])
    assert result.exit_code != 0 and "not a date" in result.output
    bad = tmp_path / "kpis.yaml"
    bad.write_text("name: x\ntargets: []\n")
    result = runner.invoke(main, base + ["--from", "2026-10-05", "--to", "2026-10-05", "--kpi-file", str(bad)])
    assert result.exit_code != 0 and "targets" in result.output


def test_a_report_over_a_live_topic_ends(broker) -> None:  # noqa: ANN001
    """Records keep arriving while the report reads: it stops at what was there when it began."""
    import threading

    from confluent_kafka import Producer

    prefix = f"rep{uuid.uuid4().hex[:6]}."
    written = produce(broker.bootstrap, prefix, Week(FIRST, DAYS, 30, seed=8).records())
    stop = threading.Event()

    def keep_writing() -> None:
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
        number = 0
        while not stop.is_set():
            number += 1
            event = {"type": "sla.warning", "data": {"ticket_id": f"live-{number}", "metric": "resolution", "cycle": 1}}
            producer.produce(prefix + "sla.events", orjson.dumps(event), key=f"live-{number}".encode())
            producer.poll(0)
            time.sleep(0.005)
        producer.flush(10)

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    try:
        time.sleep(1.0)
        started = time.monotonic()
        _, review = make_report(
            bootstrap=broker.bootstrap,
            prefix=prefix,
            first=period().first,
            last=period().last,
            zone=ZONE,
            kpi_path=None,
            output_format="markdown",
            follow_days=0,
        )
        assert time.monotonic() - started < 60
    finally:
        stop.set()
        writer.join(15)
    assert review.read[prefix + "requests.classified"] == written["requests.classified"]
    assert review.read[prefix + "sla.events"] >= written["sla.events"]  # and whatever was there when it began
