"""`make fuzz`: generated hostile payloads against a running gateway on the embedded broker.

Every adapter (generic JSON, the four signed webhooks, CTI events, the WeChat Work callback,
SMTP) and the actions endpoint get valid payloads, mutated ones (fields dropped or of the wrong
type, absurd timestamps, huge or control-character strings, broken JSON or XML, invalid UTF-8,
bad or stale signatures) and random bytes. The run checks:

- no answer is a 5xx (SMTP: no 4xx/5xx other than the refusals 550/552/452) and none takes
  longer than 1 s;
- every refusal is a 4xx JSON error with a code and a reason, and the gateway's own
  `ticketflow_gateway_requests_total` counts every answer it gave;
- every accepted payload is on its raw topic (or tickets.actions) exactly once.

    python -m bench.fuzz --payloads 100000 [--seed 7] [--concurrency 32]

Prints one line per check and a JSON summary; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import smtplib
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.fuzz_payloads import (
    CHANNEL_SECRETS,
    CORP_ID,
    SLOW_SECONDS,
    TEXTS,
    TOKEN,
    WECOM_KEY,
    WECOM_TOKEN,
    call_event,
    mail,
    moment,
    mutate,
    signed,
    webhook_document,
    wecom_call,
)
from streams.catalog import TopicCatalog, pipeline_topic_specs
from streams.settings import Settings
from streams.supervisor import Supervisor
from streams.transport.admin import ensure_topics
from streams.transport.broker import EmbeddedBroker, free_port


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    slow: list[tuple[str, float]] = field(default_factory=list)
    server_errors: list[tuple[str, int, str]] = field(default_factory=list)
    bad_refusals: list[tuple[str, int, str]] = field(default_factory=list)
    accepted_requests: set[str] = field(default_factory=set)
    accepted_actions: set[str] = field(default_factory=set)
    accepted_feedback: set[str] = field(default_factory=set)
    smtp: Counter = field(default_factory=Counter)


# -- running ----------------------------------------------------------------------------------


async def _http(
    session: aiohttp.ClientSession,
    tally: Tally,
    kind: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    params: dict[str, str] | None = None,
) -> None:
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers, params=params) as response:
        text = await response.text(errors="replace")
        status = response.status
    elapsed = time.perf_counter() - started
    tally.statuses[status] += 1
    tally.by_kind[(kind, status)] += 1
    if elapsed > SLOW_SECONDS:
        tally.slow.append((kind, elapsed))
    if status >= 500:
        tally.server_errors.append((kind, status, text[:200]))
        return
    if 400 <= status < 500:
        try:
            answer = json.loads(text)
            ok = bool(answer.get("error")) and bool(answer.get("message"))
        except ValueError:
            ok = False
        if not ok:
            tally.bad_refusals.append((kind, status, text[:200]))
        return
    if status == 202:
        answer = json.loads(text)
        if answer.get("duplicate"):
            return
        if "request_id" in answer:
            tally.accepted_requests.add(answer["request_id"])
        tally.accepted_actions.update(answer.get("action_ids", []))
        if "action_id" in answer:
            tally.accepted_actions.add(answer["action_id"])
        if "feedback_id" in answer:
            tally.accepted_feedback.add(answer["feedback_id"])


def _send_mail(port: int, raw: bytes) -> tuple[int, str]:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("fuzz@b.cn", ["support@shop.example"], raw)
        return 250, ""
    except smtplib.SMTPDataError as exc:
        return exc.smtp_code, exc.smtp_error.decode(errors="replace")
    except smtplib.SMTPResponseException as exc:
        return exc.smtp_code, exc.smtp_error.decode(errors="replace")


async def fire(base: str, smtp_port: int, payloads: int, seed: int, concurrency: int, tally: Tally) -> None:
    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(payloads):
        queue.put_nowait(number)
    mail_slots = asyncio.Semaphore(4)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one(number: int) -> None:
            kinds = ["generic", "app", "webchat", "social", "vip", "phone", "wecom", "action", "feedback", "mail"]
            kind = rng.choice(kinds)
            if kind == "generic":
                document = {
                    "text": rng.choice(TEXTS),
                    "customer": {"phone": f"139{number:08d}"},
                    "idempotency_key": f"fz-{number}",
                    "submitted_at": moment(rng),
                }
                await _http(
                    session,
                    tally,
                    kind,
                    f"{base}/v1/requests/{rng.choice(['store', 'app', 'fax'])}",
                    mutate(rng, document),
                    auth,
                )
            elif kind in ("app", "webchat", "social", "vip"):
                body = mutate(rng, webhook_document(rng, kind, number))
                await _http(
                    session,
                    tally,
                    kind,
                    f"{base}/v1/channels/{kind}/webhook",
                    body,
                    signed(rng, CHANNEL_SECRETS[kind], body),
                )
            elif kind == "phone":
                body = mutate(rng, call_event(rng, number))
                await _http(
                    session,
                    tally,
                    kind,
                    f"{base}/v1/channels/phone/events",
                    body,
                    signed(rng, CHANNEL_SECRETS["phone"], body),
                )
            elif kind == "wecom":
                query, body = wecom_call(rng, number)
                await _http(
                    session,
                    tally,
                    kind,
                    f"{base}/v1/channels/wecom/callback",
                    body,
                    {"Content-Type": "text/xml"},
                    query,
                )
            elif kind == "action":
                document = {
                    "type": rng.choice(["reply", "resolve", "transfer", "close", "explode"]),
                    "by": "agent-1",
                    "at": moment(rng),
                    "idempotency_key": f"fz-a-{number}",
                    "department": "after_sales",
                }
                ticket = rng.choice([f"TKT-FZ{number}", "bad id with spaces", "x" * 80])
                await _http(session, tally, kind, f"{base}/v1/tickets/{ticket}/actions", mutate(rng, document), auth)
            elif kind == "feedback":
                document = {
                    "ticket_id": rng.choice([f"TKT-FZ{number}"] * 4 + ["bad id with spaces", "x" * 80]),
                    "csat": rng.choice([1, 2, 3, 4, 5, 5, 0, 6, "5", None]),
                    "nps": rng.choice([0, 6, 8, 9, 10, 10, 11, -1, None]),
                    "comment": rng.choice(TEXTS),
                    "answered_at": moment(rng),
                    "idempotency_key": f"fz-f-{number}",
                }
                await _http(session, tally, kind, f"{base}/v1/feedback", mutate(rng, document), auth)
            else:
                async with mail_slots:
                    started = time.perf_counter()
                    code, _ = await asyncio.to_thread(_send_mail, smtp_port, mail(rng, number))
                    elapsed = time.perf_counter() - started
                tally.smtp[code] += 1
                if elapsed > SLOW_SECONDS:
                    tally.slow.append(("mail", elapsed))
                if code not in (250, 550, 552):
                    tally.server_errors.append(("mail", code, ""))

        async def worker() -> None:
            while not queue.empty():
                await one(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def topic_counts(bootstrap: str, topics: list[str]) -> tuple[Counter, Counter, Counter]:
    """((request id, idempotency key) on the raw topics, action ids on tickets.actions, feedback
    ids on feedback), with counts."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    requests, actions, feedback = Counter(), Counter(), Counter()
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        idle = 0  # the embedded broker's end offsets are unreliable (docs/operations.md): read until quiet
        while idle < 10:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            idle = 0 if batches else idle + 1
            for tp, records in batches.items():
                for record in records:
                    value = json.loads(record.value)
                    if tp.topic.endswith("tickets.actions"):
                        actions[value["action_id"]] += 1
                    elif tp.topic.endswith("feedback"):
                        feedback[value["feedback_id"]] += 1
                    elif "request_id" in value and "error_code" not in value:
                        # One record per (request, message): a call's events share its request id.
                        requests[(value["request_id"], value["idempotency_key"])] += 1
    finally:
        await consumer.stop()
    return requests, actions, feedback


def gateway_answers(base: str) -> Counter:
    import urllib.request

    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    counts: Counter = Counter()
    for line in text.splitlines():
        if line.startswith("ticketflow_gateway_requests_total{"):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counts[int(status)] += int(float(line.rsplit(" ", 1)[1]))
    return counts


async def run(payloads: int, seed: int, concurrency: int, log_dir: Path) -> dict:
    broker = EmbeddedBroker(port=0).start()
    supervisor = None
    try:
        settings = Settings(
            broker_url=broker.bootstrap,
            broker_kind="embedded",
            topic_prefix="fz.",
            app_id="fuzz",
            partitions=2,
            gateway_port=free_port(),
            smtp_port=free_port(),
            worker_port=free_port(),
            log_level="warning",
            api_tokens=f"fuzz:{TOKEN}",
            wecom_token=WECOM_TOKEN,
            wecom_aes_key=WECOM_KEY,
            wecom_corp_id=CORP_ID,
            smtp_peer_connections_per_minute=100_000,
            **{f"{c}_secret": s for c, s in CHANNEL_SECRETS.items()},
        )
        await ensure_topics(settings.bootstrap_servers, pipeline_topic_specs(settings))
        supervisor = Supervisor(settings, log_dir=log_dir)
        supervisor.spawn("gateway", "gateway")
        await asyncio.to_thread(supervisor.wait_until, "gateway", supervisor.gateway_ready, 60)
        base = f"http://{settings.gateway_host}:{settings.gateway_port}"
        tally = Tally()
        started = time.perf_counter()
        await fire(base, settings.smtp_port, payloads, seed, concurrency, tally)
        seconds = time.perf_counter() - started
        answered = gateway_answers(base)
        catalog = TopicCatalog(settings.topic_prefix)
        requests, actions, feedback = await topic_counts(
            settings.bootstrap_servers, [*catalog.raw_topics, catalog.tickets_actions, catalog.feedback]
        )
    finally:
        if supervisor is not None:
            supervisor.stop()
        broker.stop()
    published = {request_id for request_id, _ in requests}
    missing = [rid for rid in tally.accepted_requests if rid not in published]
    doubled = [key for key, count in requests.items() if count > 1]
    missing_actions = [aid for aid in tally.accepted_actions if actions[aid] == 0]
    doubled_actions = [aid for aid, count in actions.items() if count > 1]
    missing_feedback = [fid for fid in tally.accepted_feedback if feedback[fid] == 0]
    doubled_feedback = [fid for fid, count in feedback.items() if count > 1]
    checks = {
        "no 5xx (and no SMTP 4xx/5xx but refusals)": not tally.server_errors,
        "no answer slower than 1 s": not tally.slow,
        "every HTTP refusal a 4xx JSON error with a code and a reason": not tally.bad_refusals,
        "the gateway counted every answer it gave": all(
            answered[code] >= count for code, count in tally.statuses.items()
        ),
        "every accepted request on its raw topic exactly once": not missing and not doubled,
        "every accepted action on tickets.actions exactly once": not missing_actions and not doubled_actions,
        "every accepted answer on feedback exactly once": not missing_feedback and not doubled_feedback,
    }
    return {
        "payloads": payloads,
        "seconds": round(seconds, 1),
        "http_statuses": dict(sorted(tally.statuses.items())),
        "smtp_replies": dict(sorted(tally.smtp.items())),
        "accepted_requests": len(tally.accepted_requests),
        "accepted_actions": len(tally.accepted_actions),
        "accepted_feedback": len(tally.accepted_feedback),
        "slowest": max((s for _, s in tally.slow), default=None),
        "server_errors": tally.server_errors[:5],
        "bad_refusals": tally.bad_refusals[:5],
        "missing": missing[:5],
        "doubled": doubled[:5],
        "checks": checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payloads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="ticketflow-fuzz-"))
    result = asyncio.run(run(arguments.payloads, arguments.seed, arguments.concurrency, log_dir))
    for check, ok in result["checks"].items():
        print(f"{'ok  ' if ok else 'FAIL'} {check}")
    print(json.dumps({key: value for key, value in result.items() if key != "checks"}, ensure_ascii=False, default=str))
    print(f"gateway log: {log_dir / 'gateway.log'}")
    sys.exit(0 if all(result["checks"].values()) else 1)


if __name__ == "__main__":
    main()
