"""Follow-ups on a real broker with the seconds-scale files (streams/config/followups-demo.yaml:
surveys 2 s after resolution, complaints called back after 3 s, second follow-up 5 s after a bad
answer, suppression 60 s; care-demo.yaml: contact gap 2 s).

One stack for the module: surveys on time and exactly once; a CSAT 1 answer reopens, escalates
and brings exactly one second follow-up on time, a CSAT 5 answer none, "还是没修好" counts as
dissatisfied; a burst of 100 occasions for one customer sends one; after SIGKILL of the worker
nothing is sent twice and nothing due is missed (late ones marked late).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from datetime import date, datetime

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.catalog import TopicCatalog
from streams.domain.config_files import bundled_file
from streams.models import CustomerProfile
from tests.integration.conftest import TopicTail, post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration

POLICY = """
policies:
  - name: long
    match: {}
    targets: {first_response: 1h, resolution: 1h}
"""


@pytest.fixture(scope="module")
def stack(broker, tmp_path_factory):
    folder = tmp_path_factory.mktemp("followups")
    policy = folder / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    # The burst below sends one customer's same question 100 times: repeats, which are not
    # surveyed by default (never_survey.duplicates); here they are, so the contact budget decides.
    followups = folder / "followups.yaml"
    followups.write_text(
        bundled_file("followups-demo.yaml").read_text(encoding="utf-8") + "\nnever_survey: {duplicates: false}\n",
        encoding="utf-8",
    )
    settings = stack_settings(broker, policy, followup_file=followups, care_file=bundled_file("care-demo.yaml"))
    supervisor = start_stack(settings, folder)
    catalog = TopicCatalog(settings.topic_prefix)
    tail = TopicTail(broker.bootstrap, [catalog.followups, catalog.tickets_actions, catalog.care])
    try:
        yield settings, supervisor, catalog, tail
    finally:
        tail.close()
        supervisor.stop()


def gateway(settings) -> str:
    return f"http://{settings.gateway_host}:{settings.gateway_port}"


def resolved_ticket(settings, customer: str, text: str = "请问会员积分怎么查询？") -> str:
    """A request, a reply and a resolution; the ticket id."""
    ticket = post_json(
        f"{gateway(settings)}/v1/requests/app",
        {"text": f"{text} ({uuid.uuid4().hex[:6]})", "customer": {"id": customer}},
    )["ticket_id"]
    for kind in ("reply", "resolve"):
        post_json(f"{gateway(settings)}/v1/tickets/{ticket}/actions", {"type": kind, "by": "agent-1"})
    return ticket


def followup_events(tail, catalog) -> dict[str, list[tuple[float, dict]]]:
    found = defaultdict(list)
    for record in tail.records(catalog.followups):
        found[record.key.decode()].append((record.timestamp / 1000.0, orjson.loads(record.value)))
    return found


def of_type(events, kind):
    return [(at, e) for at, e in events if e["type"] == kind]


def lateness(at: float, event: dict) -> float:
    return at - datetime.fromisoformat(event["data"].get("held_until") or event["data"]["due_at"]).timestamp()


def test_surveys_answers_and_recovery(stack):
    settings, _, catalog, tail = stack
    tickets = {name: resolved_ticket(settings, f"C-{name}-{uuid.uuid4().hex[:4]}") for name in ("bad", "good", "words")}
    tail.wait_for(
        "three surveys",
        lambda: all(of_type(followup_events(tail, catalog)[t], "followup.survey_due") for t in tickets.values()),
        30,
    )
    answers = {"bad": {"csat": 1}, "good": {"csat": 5}, "words": {"csat": 4, "comment": "还是没修好"}}
    answered = {}
    for name, answer in answers.items():
        post_json(f"{gateway(settings)}/v1/feedback", {"ticket_id": tickets[name], **answer, "idempotency_key": name})
        answered[name] = time.time()
    tail.wait_for(
        "two second follow-ups",
        lambda: all(
            of_type(followup_events(tail, catalog)[tickets[n]], "followup.second_followup_due")
            for n in ("bad", "words")
        ),
        30,
    )
    time.sleep(2.0)  # anything more that would come
    events = followup_events(tail, catalog)
    for ticket in tickets.values():
        (survey,) = {e["id"]: (at, e) for at, e in of_type(events[ticket], "followup.survey_due")}.values()
        assert lateness(*survey) < 1.0 and survey[1]["data"]["late"] is False
    for name in ("bad", "words"):
        (escalated,) = of_type(events[tickets[name]], "followup.escalated")
        assert escalated[1]["data"]["reopened"] is True and escalated[1]["data"]["notify"]
        seconds = of_type(events[tickets[name]], "followup.second_followup_due")
        (second,) = {e["id"]: (at, e) for at, e in seconds}.values()
        assert lateness(*second) < 1.0
        assert abs(datetime.fromisoformat(second[1]["data"]["due_at"]).timestamp() - (answered[name] + 5)) < 1.5
    reopens = [
        orjson.loads(r.value)
        for r in tail.records(catalog.tickets_actions)
        if orjson.loads(r.value)["type"] == "reopen"
    ]
    assert sorted(a["ticket_id"] for a in reopens) == sorted([tickets["bad"], tickets["words"]])
    good = events[tickets["good"]]
    assert of_type(good, "followup.escalated") == [] and of_type(good, "followup.second_followup_due") == []


def test_a_burst_for_one_customer_sends_one_survey(stack):
    settings, _, catalog, tail = stack
    customer = f"C-burst-{uuid.uuid4().hex[:4]}"
    tickets = [resolved_ticket(settings, customer) for _ in range(100)]

    def decided():
        events = followup_events(tail, catalog)
        return [e for t in tickets for _, e in events[t] if e["type"] in ("followup.survey_due", "followup.cancelled")]

    tail.wait_for("a decision for each of the 100 surveys", lambda: len({e["subject"] for e in decided()}) == 100, 60)
    time.sleep(1.0)
    found = decided()
    sent = {e["id"] for e in found if e["type"] == "followup.survey_due"}
    assert len(sent) == 1
    assert {e["data"]["reason"] for e in found if e["type"] == "followup.cancelled"} == {"suppressed"}


async def _publish(bootstrap: str, topic: str, profiles: list[CustomerProfile]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for profile in profiles:
            await producer.send_and_wait(topic, profile.model_dump_json().encode(), key=profile.customer_id.encode())
    finally:
        await producer.stop()


def test_after_sigkill_nothing_twice_and_nothing_missed(stack):
    settings, supervisor, catalog, tail = stack
    today = datetime.now(settings.care.zone).date()
    birthday = date(1990, today.month, min(today.day, 28))
    profiles = [CustomerProfile(customer_id=f"C-care-{uuid.uuid4().hex[:6]}", birthday=birthday) for _ in range(5)]
    asyncio.run(_publish(broker_bootstrap(settings), catalog.customers_profiles, profiles))
    tickets = [resolved_ticket(settings, f"C-kill-{number}-{uuid.uuid4().hex[:4]}") for number in range(20)]
    time.sleep(1.0)  # about a second before the surveys are due
    (worker,) = [child for child in supervisor.children if child.name == "worker"]
    worker.process.kill()
    worker.process.wait(10)
    supervisor.children.remove(worker)
    time.sleep(2.0)  # every survey falls due while the worker is down
    supervisor.spawn("worker", "worker")
    supervisor.wait_until("worker", supervisor.worker_ready, timeout=90)

    def surveys():
        events = followup_events(tail, catalog)
        return {t: of_type(events[t], "followup.survey_due") for t in tickets}

    tail.wait_for("every survey", lambda: all(surveys().values()), 60)
    birthday_key = f"birthday:{today.year}" if birthday.day == today.day else None
    if birthday_key:
        tail.wait_for("every birthday", lambda: len(care_by_customer(tail, catalog)) >= 5, 30)
    time.sleep(2.0)
    for ticket, found in surveys().items():
        assert len({e["id"] for _, e in found}) == 1, ticket  # re-sent copies keep the id
        for at, event in found:
            assert event["data"]["late"] is (lateness(at, event) > 1.0)
    if birthday_key:
        care = care_by_customer(tail, catalog)
        assert all(len({e["id"] for e in found}) == 1 for found in care.values())
        assert {e["data"]["occasion_key"] for found in care.values() for e in found} == {birthday_key}


def care_by_customer(tail, catalog) -> dict[str, list[dict]]:
    found = defaultdict(list)
    for record in tail.records(catalog.care):
        event = orjson.loads(record.value)
        if event["type"] == "care.birthday":
            found[event["subject"]].append(event)
    return found


def broker_bootstrap(settings) -> str:
    return settings.bootstrap_servers
