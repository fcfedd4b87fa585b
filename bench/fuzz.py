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
import base64
import json
import os
import random
import secrets
import smtplib
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.adapters import wecom
from streams.adapters.webhook import sign
from streams.catalog import TopicCatalog, pipeline_topic_specs
from streams.settings import Settings
from streams.supervisor import Supervisor
from streams.transport.admin import ensure_topics
from streams.transport.broker import EmbeddedBroker, free_port

SLOW_SECONDS = 1.0
CHANNEL_SECRETS = {channel: secrets.token_urlsafe(24) for channel in ("app", "webchat", "social", "vip", "phone")}
TOKEN = secrets.token_urlsafe(24)
WECOM_TOKEN, WECOM_KEY, CORP_ID = secrets.token_hex(8), base64.b64encode(os.urandom(32)).decode()[:43], "wwfuzz0001"
TEXTS = [
    "APP一直闪退，无法登录",
    "订单还没发货，想修改地址",
    "I was charged twice.",
    "請問會員積分怎麼兌換？",
    "孩子吃了有异物的饼干后住院",
]


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    slow: list[tuple[str, float]] = field(default_factory=list)
    server_errors: list[tuple[str, int, str]] = field(default_factory=list)
    bad_refusals: list[tuple[str, int, str]] = field(default_factory=list)
    accepted_requests: set[str] = field(default_factory=set)
    accepted_actions: set[str] = field(default_factory=set)
    smtp: Counter = field(default_factory=Counter)


# -- payloads ------------------------------------------------------------------------------------


def _moment(rng: random.Random) -> Any:
    choice = rng.random()
    now = datetime.now(UTC)
    if choice < 0.6:
        return (now - timedelta(seconds=rng.randint(0, 86_400))).isoformat()
    return rng.choice(
        [
            "0002-03-04T00:00:00Z",
            "9999-12-31T23:59:59-23:59",
            "2999-01-01T00:00:00Z",
            "yesterday",
            "",
            12345678901234,
            -1,
            None,
            [],
            "2024-02-30T10:00:00",
            "1999-12-31T23:59:59Z",
        ]
    )


def _junk(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            0,
            -1,
            2**70,
            1.5,
            True,
            [],
            {},
            "",
            " ",
            "\x00\x01\x1f",
            "多" * rng.randint(1, 30_000),
            "A" * rng.randint(1, 70_000),
            "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
            {"nested": {"deep": list(range(50))}},
            "<script>",
            "'; DROP TABLE tickets; --",
        ]
    )


def _mutate(rng: random.Random, document: dict) -> bytes:
    """A JSON body: valid, with fields dropped or replaced, or broken as bytes."""
    roll = rng.random()
    if roll < 0.35:
        return json.dumps(document, ensure_ascii=False).encode()
    if roll < 0.85:
        doc = json.loads(json.dumps(document))
        for _ in range(rng.randint(1, 3)):
            target = doc
            keys = list(target)
            if not keys:
                break
            key = rng.choice(keys)
            if isinstance(target[key], dict) and target[key] and rng.random() < 0.5:
                target = target[key]
                key = rng.choice(list(target))
            action = rng.random()
            if action < 0.3:
                del target[key]
            elif action < 0.5 and any(word in key for word in ("at", "time", "created")):
                target[key] = _moment(rng)
            else:
                target[key] = _junk(rng)
        return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    raw = json.dumps(document, ensure_ascii=False).encode()
    return rng.choice(
        [
            raw[: rng.randint(0, len(raw))],
            raw + b"\xff\xfe",
            os.urandom(rng.randint(0, 300)),
            b"[]",
            b"null",
            b'{"a":' * 500,
            raw.replace(b'"', b"'"),
        ]
    )


def _signed(rng: random.Random, secret: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Ticketflow-Timestamp": stamp,
        "X-Ticketflow-Signature": sign(secret.encode(), stamp, body),
    }
    roll = rng.random()
    if roll < 0.04:
        headers["X-Ticketflow-Signature"] = "sha256=" + "0" * 64
    elif roll < 0.07:
        headers.pop("X-Ticketflow-Timestamp")
    elif roll < 0.09:
        old = str(int(time.time()) - 3600)
        headers.update({"X-Ticketflow-Timestamp": old, "X-Ticketflow-Signature": sign(secret.encode(), old, body)})
    return headers


def _webhook_document(rng: random.Random, channel: str, number: int) -> dict:
    text = rng.choice(TEXTS)
    if channel == "app":
        return {
            "feedback_id": f"fz-{number}",
            "content": text,
            "user": {"user_id": f"u{number % 97}"},
            "created_at": _moment(rng) if rng.random() < 0.3 else None,
        }
    if channel == "webchat":
        return {
            "conversation_id": f"c{number}",
            "message_id": f"m{number}",
            "seq": rng.choice([1, 1, 2, 0, 10**7]),
            "visitor": {"visitor_id": f"v{number % 51}"},
            "text": text,
        }
    if channel == "social":
        return {
            "platform": rng.choice(["weibo", "douyin", "nowhere"]),
            "message_id": f"s{number}",
            "sender": {"user_id": f"w{number % 31}"},
            "text": text,
        }
    return {
        "report_id": f"r{number}",
        "manager": {"id": "am-1"},
        "customer": {"customer_number": f"V{number % 13}"},
        "summary": text,
    }


def _call_event(rng: random.Random, number: int) -> dict:
    event = rng.choice(["offered", "answered", "abandoned", "wrap_up"])
    return {
        "event": event,
        "call_id": f"call-{number}",
        "at": _moment(rng) if rng.random() < 0.2 else datetime.now(UTC).isoformat(),
        "caller": f"+86 138 0000 {number % 9999:04d}",
        "notes": rng.choice(TEXTS) if event == "wrap_up" else None,
        "callback_requested": rng.random() < 0.5,
    }


def _wecom_call(rng: random.Random, number: int) -> tuple[dict[str, str], bytes]:
    crypto = wecom.WeComCrypto.create(WECOM_TOKEN, WECOM_KEY, CORP_ID)
    created = int(time.time()) if rng.random() < 0.8 else rng.choice([0, 999_999_999_999, -5])
    content = rng.choice(TEXTS + ["<![CDATA[", "]]>", "&amp;" * 100])
    inner = rng.choice(
        [
            f"<xml><FromUserName>u{number % 41}</FromUserName><CreateTime>{created}</CreateTime><MsgType>text</MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{number}</MsgId></xml>",
            "<xml><FromUserName>u1</FromUserName><MsgType>event</MsgType><Event>subscribe</Event></xml>",
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
            "<xml><MsgType>text",
            "not xml at all",
        ]
    ).encode("utf-8")
    if rng.random() < 0.05:
        inner = '<?xml version="1.0" encoding="UTF-16"?><xml><Content>x</Content></xml>'.encode("utf-16")
    encrypted = crypto.encrypt(inner, os.urandom(16))
    stamp, nonce = str(int(time.time())), str(rng.randint(1, 10**9))
    signature = wecom.signature(WECOM_TOKEN, stamp, nonce, encrypted)
    if rng.random() < 0.05:
        signature = "0" * 40
    body = f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    if rng.random() < 0.05:
        body = os.urandom(rng.randint(0, 200))
    return {"msg_signature": signature, "timestamp": stamp, "nonce": nonce}, body


def _mail(rng: random.Random, number: int) -> bytes:
    date = rng.choice(
        [
            "Fri, 31 Dec 9999 23:59:59 -2359",
            "Mon, 1 Jan 0001 00:00:00 +0000",
            "garbage",
            time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
        ]
    )
    body = rng.choice(
        [
            rng.choice(TEXTS).encode(),
            b"<a " * rng.randint(1, 20_000),
            b"<div>" * 5_000,
            "订单".encode("gbk") * 100,
            os.urandom(500),
        ]
    )
    headers = [
        b"From: " + rng.choice([b"a%d@b.cn" % number, b"", b'"a\\' * 200, b"<" * 100]),
        b"Subject: " + rng.choice([b"help", b"=?utf-8?q?a?= " * 100, b""]),
        b"Message-ID: <fz%d@b.cn>" % number,
        b"Date: " + date.encode(),
        b"Content-Type: " + rng.choice([b"text/plain; charset=utf-8", b"text/html", b"text/plain;" + b" a=b;" * 150]),
    ]
    # Long headers folded as RFC 5322 allows (lines over 998 octets are the SMTP server's own 500).
    folded = [b"\r\n ".join(header[start : start + 500] for start in range(0, len(header), 500)) for header in headers]
    lines = b"\r\n".join(folded) + b"\r\n\r\n"
    for start in range(0, len(body), 700):
        lines += body[start : start + 700] + b"\r\n"
    return lines


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
            kind = rng.choice(["generic", "app", "webchat", "social", "vip", "phone", "wecom", "action", "mail"])
            if kind == "generic":
                document = {
                    "text": rng.choice(TEXTS),
                    "customer": {"phone": f"139{number:08d}"},
                    "idempotency_key": f"fz-{number}",
                    "submitted_at": _moment(rng),
                }
                await _http(
                    session,
                    tally,
                    kind,
                    f"{base}/v1/requests/{rng.choice(['store', 'app', 'fax'])}",
                    _mutate(rng, document),
                    auth,
                )
            elif kind in ("app", "webchat", "social", "vip"):
                body = _mutate(rng, _webhook_document(rng, kind, number))
                await _http(
                    session,
                    tally,
                    kind,
                    f"{base}/v1/channels/{kind}/webhook",
                    body,
                    _signed(rng, CHANNEL_SECRETS[kind], body),
                )
            elif kind == "phone":
                body = _mutate(rng, _call_event(rng, number))
                await _http(
                    session,
                    tally,
                    kind,
                    f"{base}/v1/channels/phone/events",
                    body,
                    _signed(rng, CHANNEL_SECRETS["phone"], body),
                )
            elif kind == "wecom":
                query, body = _wecom_call(rng, number)
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
                    "at": _moment(rng),
                    "idempotency_key": f"fz-a-{number}",
                    "department": "after_sales",
                }
                ticket = rng.choice([f"TKT-FZ{number}", "bad id with spaces", "x" * 80])
                await _http(session, tally, kind, f"{base}/v1/tickets/{ticket}/actions", _mutate(rng, document), auth)
            else:
                async with mail_slots:
                    started = time.perf_counter()
                    code, _ = await asyncio.to_thread(_send_mail, smtp_port, _mail(rng, number))
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


async def topic_counts(bootstrap: str, topics: list[str]) -> tuple[Counter, Counter]:
    """((request id, idempotency key) on the raw topics, action ids on tickets.actions), with counts."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    requests, actions = Counter(), Counter()
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
                    elif "request_id" in value and "error_code" not in value:
                        # One record per (request, message): a call's events share its request id.
                        requests[(value["request_id"], value["idempotency_key"])] += 1
    finally:
        await consumer.stop()
    return requests, actions


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
        requests, actions = await topic_counts(
            settings.bootstrap_servers, [*catalog.raw_topics, catalog.tickets_actions]
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
    checks = {
        "no 5xx (and no SMTP 4xx/5xx but refusals)": not tally.server_errors,
        "no answer slower than 1 s": not tally.slow,
        "every HTTP refusal a 4xx JSON error with a code and a reason": not tally.bad_refusals,
        "the gateway counted every answer it gave": all(
            answered[code] >= count for code, count in tally.statuses.items()
        ),
        "every accepted request on its raw topic exactly once": not missing and not doubled,
        "every accepted action on tickets.actions exactly once": not missing_actions and not doubled_actions,
    }
    return {
        "payloads": payloads,
        "seconds": round(seconds, 1),
        "http_statuses": dict(sorted(tally.statuses.items())),
        "smtp_replies": dict(sorted(tally.smtp.items())),
        "accepted_requests": len(tally.accepted_requests),
        "accepted_actions": len(tally.accepted_actions),
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
