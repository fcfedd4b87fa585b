"""The running spine end to end on a real broker: gateway → normalize → classify → lifecycle →
dept.* and sla.events, read back with an independent aiokafka consumer; then the worker is
SIGKILLed and replaced, and nothing is repeated, lost or forgotten.

The test policy gives every ticket a 6 s first-response and a 16 s resolution target with one
warning at 50 %. Tickets are posted in groups:
  answered    replied and resolved at once            → fulfilled ×2, no warning, no breach
  replied     replied at once, never resolved         → resolution warning + breach
  unanswered  nobody answers                          → warning + breach for both metrics
  outage      replied, then the worker dies until after their resolution breach was due
              → that warning and breach come after recovery, once, marked late
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.catalog import TopicCatalog
from streams.models import CHANNELS
from streams.simulator import TEMPLATES
from tests.integration.conftest import AUTH, TopicTail, stack_settings, start_stack

pytestmark = pytest.mark.integration

FIRST_RESPONSE_S, RESOLUTION_S = 6, 16
POLICY = f"""
warn_at: [0.5]
policies:
  - name: short
    match: {{}}
    targets: {{first_response: {FIRST_RESPONSE_S}s, resolution: {RESOLUTION_S}s}}
"""
PER_CHANNEL = {"answered": 15, "replied": 6, "unanswered": 6}  # × 8 channels = 216 tickets
MALFORMED_BODIES = [
    (b'{"customer": {"name": "x"}, "text": ', 400, "invalid_json"),
    (b'{"customer": {}}', 422, "invalid_request"),
    (b'{"text": "   "}', 422, "invalid_request"),
    (b'{"text": 42, "customer": []}', 422, "invalid_request"),
    (b'["not", "an", "object"]', 422, "invalid_request"),
]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Run:
    """What the test sent and what it was told."""

    def __init__(self) -> None:
        self.tickets: dict[str, str] = {}  # ticket id → group
        self.by_group: dict[str, list[str]] = defaultdict(list)
        self.idempotency: list[tuple[str, dict, dict]] = []  # (channel, payload, answer)
        self.malformed_answers: list[tuple[int, dict, str]] = []
        self.duplicate_answers: list[tuple[dict, dict]] = []


async def _post(session: aiohttp.ClientSession, url: str, **kwargs) -> tuple[int, dict]:
    async with session.post(url, **kwargs) as response:
        return response.status, await response.json()


async def _send_groups(gateway: str, groups: dict[str, int], run: Run, rng: random.Random) -> None:
    semaphore = asyncio.Semaphore(16)
    async with aiohttp.ClientSession(headers=AUTH) as session:

        async def one(channel: str, group: str, number: int) -> None:
            _, language, template = rng.choice(TEMPLATES)
            text = template.format(order=f"2026{number:08d}", product="earbuds", amount=99)
            payload = {
                "customer": {"phone": f"+86 139{rng.randint(10_000_000, 99_999_999)}"},
                "text": text,
                "submitted_at": _now_iso(),
                "idempotency_key": f"{group}-{channel}-{number}",
            }
            async with semaphore:
                status, answer = await _post(session, f"{gateway}/v1/requests/{channel}", json=payload)
                assert status == 202, answer
                ticket = answer["ticket_id"]
                run.tickets[ticket] = group
                run.by_group[group].append(ticket)
                run.idempotency.append((channel, payload, answer))
                if group in ("answered", "replied", "outage"):
                    reply = {"type": "reply", "by": "agent-7", "at": _now_iso()}
                    status, _ = await _post(session, f"{gateway}/v1/tickets/{ticket}/actions", json=reply)
                    assert status == 202
                if group == "answered":
                    resolve = {"type": "resolve", "by": "agent-7", "at": _now_iso()}
                    status, _ = await _post(session, f"{gateway}/v1/tickets/{ticket}/actions", json=resolve)
                    assert status == 202

        await asyncio.gather(
            *(
                one(channel, group, number)
                for group, count in groups.items()
                for channel in CHANNELS
                for number in range(count)
            )
        )


async def _send_malformed_and_duplicates(gateway: str, run: Run) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        for index, (body, expected_status, code) in enumerate(MALFORMED_BODIES * 2):
            channel = CHANNELS[index % len(CHANNELS)]
            status, answer = await _post(
                session, f"{gateway}/v1/requests/{channel}", data=body, headers={"Content-Type": "application/json"}
            )
            assert (status, answer["error"]) == (expected_status, code), answer
            assert answer["message"]
            run.malformed_answers.append((status, answer, channel))
        status, answer = await _post(session, f"{gateway}/v1/requests/fax", json={"text": "hello"})
        assert (status, answer["error"]) == (404, "unknown_channel")
        for channel, payload, first_answer in run.idempotency[:20]:
            status, answer = await _post(session, f"{gateway}/v1/requests/{channel}", json=payload)
            assert status == 202 and answer["duplicate"] is True
            run.duplicate_answers.append((first_answer, answer))


async def _produce_raw_garbage(bootstrap: str, catalog: TopicCatalog) -> int:
    """Records that bypass the gateway (a broken adapter): normalize must reject them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        bodies = [b"\xff\xfe\x00 not an envelope", b'{"channel": "app"}', b"[]"]
        for index, body in enumerate(bodies):
            await producer.send_and_wait(catalog.raw(CHANNELS[index]), body, key=b"broken-adapter")
    finally:
        await producer.stop()
    return len(bodies)


def _events(tail: TopicTail, topic: str) -> list[dict]:
    return [orjson.loads(record.value) for record in tail.records(topic)]


def _sla_index(tail: TopicTail, topic: str) -> dict[tuple, list[dict]]:
    """(ticket, metric, kind) → events."""
    index: dict[tuple, list[dict]] = defaultdict(list)
    for event in _events(tail, topic):
        index[(event["subject"], event["data"]["metric"], event["type"])].append(event)
    return index


@pytest.fixture(scope="module")
def pipeline(broker, tmp_path_factory):
    directory = tmp_path_factory.mktemp("pipeline")
    policy_file = directory / "policy.yaml"
    policy_file.write_text(POLICY, encoding="utf-8")
    settings = stack_settings(broker, policy_file)
    supervisor = start_stack(settings, directory)
    catalog = TopicCatalog(settings.topic_prefix)
    departments = list(settings.routing.departments)
    tail = TopicTail(
        broker.bootstrap,
        [catalog.sla_events, catalog.requests_invalid, *[catalog.department(name) for name in departments]],
    )
    yield {
        "settings": settings,
        "supervisor": supervisor,
        "catalog": catalog,
        "tail": tail,
        "departments": departments,
        "run": Run(),
        "log_dir": directory,
    }
    tail.close()
    supervisor.stop()


def _routed(pipeline) -> list[dict]:
    tail, catalog = pipeline["tail"], pipeline["catalog"]
    return [event for name in pipeline["departments"] for event in _events(tail, catalog.department(name))]


def _owner_copies(pipeline) -> Counter:
    return Counter(event["subject"] for event in _routed(pipeline) if event["data"]["role"] == "owner")


def test_every_valid_request_lands_in_exactly_one_primary_department(pipeline):
    settings, tail, run = pipeline["settings"], pipeline["tail"], pipeline["run"]
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    asyncio.run(_send_groups(gateway, PER_CHANNEL, run, random.Random(3)))
    asyncio.run(_send_malformed_and_duplicates(gateway, run))
    garbage = asyncio.run(_produce_raw_garbage(settings.bootstrap_servers, pipeline["catalog"]))
    pipeline["garbage"] = garbage
    expected = sum(PER_CHANNEL.values()) * len(CHANNELS)
    assert len(run.tickets) == expected

    tail.wait_for("every ticket routed", lambda: set(_owner_copies(pipeline)) >= set(run.tickets), timeout=60)
    owners = _owner_copies(pipeline)
    assert set(owners) == set(run.tickets)
    assert all(count == 1 for count in owners.values()), [t for t, c in owners.items() if c > 1]
    for event in _routed(pipeline):
        assert event["specversion"] == "1.0" and event["type"] == "ticket.routed"
        assert event["data"]["department"] in pipeline["departments"]


def test_duplicates_by_idempotency_key_collapse(pipeline):
    run = pipeline["run"]
    assert run.duplicate_answers
    for first, repeat in run.duplicate_answers:
        assert (repeat["request_id"], repeat["ticket_id"]) == (first["request_id"], first["ticket_id"])
    owners = _owner_copies(pipeline)
    assert all(owners[first["ticket_id"]] == 1 for first, _ in run.duplicate_answers)


def test_every_malformed_request_is_kept_in_requests_invalid_with_a_reason(pipeline):
    tail, catalog, run = pipeline["tail"], pipeline["catalog"], pipeline["run"]
    expected_gateway = len(run.malformed_answers) + 1  # + the unknown channel
    expected_total = expected_gateway + pipeline["garbage"]
    tail.wait_for("invalid records", lambda: len(tail.records(catalog.requests_invalid)) >= expected_total, 30)
    invalid = _events(tail, catalog.requests_invalid)
    assert len(invalid) == expected_total
    assert all(record["reason"] and record["error_code"] for record in invalid)
    by_stage = Counter(record["stage"] for record in invalid)
    assert by_stage == {"gateway": expected_gateway, "normalize": pipeline["garbage"]}
    gateway_bodies = sorted(
        record["raw_value"] for record in invalid if record["stage"] == "gateway" and record["channel"] != "unknown"
    )
    sent_bodies = sorted(body.decode() for body, _, _ in MALFORMED_BODIES * 2)
    assert gateway_bodies == sent_bodies  # nothing lost: the exact bytes can be fixed and replayed
    assert all(record["replay_topic"] for record in invalid if record["channel"] != "unknown")


def test_unanswered_tickets_get_exactly_one_warning_and_one_breach_per_metric(pipeline):
    tail, catalog, run = pipeline["tail"], pipeline["catalog"], pipeline["run"]

    def breaches_in() -> bool:
        index = _sla_index(tail, catalog.sla_events)
        return all(
            index.get((t, "resolution", "sla.breached")) for t in run.by_group["unanswered"] + run.by_group["replied"]
        )

    tail.wait_for("resolution breaches", breaches_in, timeout=RESOLUTION_S + 30)
    time.sleep(1.5)  # anything doubled would show up by now
    index = _sla_index(tail, catalog.sla_events)
    for ticket in run.by_group["unanswered"]:
        for metric in ("first_response", "resolution"):
            assert len(index[(ticket, metric, "sla.warning")]) == 1, (ticket, metric)
            assert len(index[(ticket, metric, "sla.breached")]) == 1, (ticket, metric)
    for ticket in run.by_group["replied"]:
        assert [e["data"]["within_target"] for e in index[(ticket, "first_response", "sla.fulfilled")]] == [True]
        assert len(index[(ticket, "first_response", "sla.breached")]) == 0
        assert len(index[(ticket, "resolution", "sla.warning")]) == 1
        assert len(index[(ticket, "resolution", "sla.breached")]) == 1
    for ticket in run.by_group["answered"]:
        assert not [key for key in index if key[0] == ticket and key[2] in ("sla.warning", "sla.breached")], ticket
        assert len(index[(ticket, "resolution", "sla.fulfilled")]) == 1
    ids = [event["id"] for event in _events(tail, catalog.sla_events)]
    assert len(ids) == len(set(ids))


def test_breach_fires_within_a_second_of_its_due_moment(pipeline):
    tail, catalog = pipeline["tail"], pipeline["catalog"]
    live = [
        (record.timestamp / 1000.0) - datetime.fromisoformat(event["data"]["due_at"]).timestamp()
        for record in tail.records(catalog.sla_events)
        for event in [orjson.loads(record.value)]
        if event["type"] == "sla.breached"
    ]
    assert live and max(live) < 1.0, sorted(live)[-5:]


def test_worker_metrics_count_what_happened(pipeline):
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    settings, run = pipeline["settings"], pipeline["run"]
    with urllib.request.urlopen(f"http://{settings.worker_host}:{settings.worker_port}/metrics", timeout=5) as r:
        families = {family.name: family for family in text_string_to_metric_families(r.read().decode())}

    def total(name: str, **labels: str) -> float:
        return sum(
            sample.value
            for sample in families[name].samples
            if sample.name.endswith("_total") and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    tickets = len(run.tickets)
    assert total("ticketflow_requests") == tickets
    assert total("ticketflow_sla_breaches", metric="first_response") == len(run.by_group["unanswered"])
    unanswered_or_replied = len(run.by_group["unanswered"]) + len(run.by_group["replied"])
    assert total("ticketflow_sla_breaches", metric="resolution") == unanswered_or_replied
    assert total("ticketflow_invalid_records", stage="normalize") == pipeline["garbage"]
    open_gauge = sum(sample.value for sample in families["ticketflow_open_tickets"].samples)
    assert open_gauge == unanswered_or_replied
    for family in families.values():  # bounded labels: never a ticket or customer id
        for sample in family.samples:
            assert not any(str(value).startswith(("TKT-", "CUS-", "REQ-")) for value in sample.labels.values())


def _status(settings) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"http://{settings.worker_host}:{settings.worker_port}/v1/status", timeout=2) as r:
        return json.load(r)


def _ticket(settings, ticket: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(
            f"http://{settings.worker_host}:{settings.worker_port}/v1/tickets/{ticket}", timeout=5
        ) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, {}


def test_after_sigkill_a_new_worker_repeats_nothing_and_the_tables_come_back(pipeline):
    settings, tail, catalog, run = pipeline["settings"], pipeline["tail"], pipeline["catalog"], pipeline["run"]
    supervisor = pipeline["supervisor"]
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"

    # Tickets whose resolution falls due while the worker is down.
    asyncio.run(_send_groups(gateway, {"outage": 2}, run, random.Random(5)))
    outage = run.by_group["outage"]
    tail.wait_for(
        "outage tickets answered",
        lambda: all(_sla_index(tail, catalog.sla_events).get((t, "first_response", "sla.fulfilled")) for t in outage),
        30,
    )
    time.sleep(1.5)  # let the worker commit its offsets and flush its changelog
    before = _events(tail, catalog.sla_events)
    open_before = _status(settings)["open_tickets"]

    (worker,) = [child for child in supervisor.children if child.name == "worker"]
    worker.process.kill()
    worker.process.wait(10)
    supervisor.children.remove(worker)
    # While the worker is down, agents resolve some outage tickets, well before their warnings.
    resolved_in_outage = outage[: len(outage) // 4]
    stuck = [ticket for ticket in outage if ticket not in resolved_in_outage]

    async def resolve_some() -> None:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            # A backlog in front of the resolutions (notes on tickets of another system), so that
            # the restarted worker takes a while to reach them.
            semaphore = asyncio.Semaphore(32)

            async def note(number: int) -> None:
                async with semaphore:
                    status, _ = await _post(
                        session,
                        f"{gateway}/v1/tickets/EXT-{number}/actions",
                        json={"type": "progress", "by": "crm-sync"},
                    )
                    assert status == 202

            await asyncio.gather(*(note(number) for number in range(1500)))
            for ticket in resolved_in_outage:
                status, _ = await _post(
                    session, f"{gateway}/v1/tickets/{ticket}/actions", json={"type": "resolve", "by": "agent-3"}
                )
                assert status == 202

    asyncio.run(resolve_some())
    time.sleep(RESOLUTION_S + 1)  # the stuck tickets' warning and breach fall due meanwhile

    supervisor.spawn("worker", "worker")
    supervisor.wait_until("restarted worker", supervisor.worker_ready, timeout=90)
    tail.wait_for(
        "late outage breaches",
        lambda: all(_sla_index(tail, catalog.sla_events).get((t, "resolution", "sla.breached")) for t in stuck),
        30,
    )
    tail.wait_for(
        "outage resolutions",
        lambda: all(
            _sla_index(tail, catalog.sla_events).get((t, "resolution", "sla.fulfilled")) for t in resolved_in_outage
        ),
        30,
    )
    time.sleep(2.0)

    after = _events(tail, catalog.sla_events)
    new = after[len(before) :]
    # Nothing that had been emitted before the crash is emitted again.
    before_ids = {event["id"] for event in before}
    assert not [event for event in new if event["id"] in before_ids]
    assert len({event["id"] for event in after}) == len(after)
    # The stuck tickets' due points fired, once each, marked late; the tickets resolved during the
    # outage were resolved in time — the resolutions, read after the restart, came before any
    # point fired (the timer waits for the inputs to be caught up on), so no false breach.
    points = [event for event in new if event["type"] in ("sla.warning", "sla.breached")]
    assert sorted((event["subject"], event["type"]) for event in points) == sorted(
        (ticket, kind) for ticket in stuck for kind in ("sla.warning", "sla.breached")
    )
    assert all(event["data"]["late"] for event in points)
    fulfilled = [event for event in new if event["type"] == "sla.fulfilled"]
    assert sorted(event["subject"] for event in fulfilled) == sorted(resolved_in_outage)
    assert all(event["data"]["within_target"] for event in fulfilled)
    for ticket in resolved_in_outage:
        run.tickets[ticket] = "answered"  # resolved now
    open_before -= len(resolved_in_outage)

    # The table came back: every ticket is there, in the state it was left in.
    status = _status(settings)
    assert status["recoveries"] >= 1 and status["owned_partitions"] == [0, 1, 2, 3]
    assert status["open_tickets"] == open_before
    for ticket, group in run.tickets.items():
        code, state = _ticket(settings, ticket)
        assert code == 200, ticket
        assert state["status"] == ("resolved" if group == "answered" else "open"), (ticket, group)

    # …and it still drives the clock: resolving an old unanswered ticket fulfils it, late.
    ticket = run.by_group["unanswered"][0]

    async def resolve() -> None:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            status, _ = await _post(
                session, f"{gateway}/v1/tickets/{ticket}/actions", json={"type": "resolve", "by": "agent-9"}
            )
            assert status == 202

    asyncio.run(resolve())
    tail.wait_for(
        "fulfilment of the old ticket",
        lambda: _sla_index(tail, catalog.sla_events).get((ticket, "resolution", "sla.fulfilled")),
        20,
    )
    (fulfilled,) = _sla_index(tail, catalog.sla_events)[(ticket, "resolution", "sla.fulfilled")]
    assert fulfilled["data"]["within_target"] is False
