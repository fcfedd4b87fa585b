"""Hostile payloads for `make fuzz`: every adapter's documents, signed or encrypted where the
channel is, then mutated (docs/operations.md)."""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.adapters import wecom
from streams.adapters.webhook import sign

WECOM_TOKEN, WECOM_KEY, CORP_ID = secrets.token_hex(8), base64.b64encode(os.urandom(32)).decode()[:43], "wwfuzz0001"
SLOW_SECONDS = 1.0


CHANNEL_SECRETS = {channel: secrets.token_urlsafe(24) for channel in ("app", "webchat", "social", "vip", "phone")}


TOKEN = secrets.token_urlsafe(24)


TEXTS = [
    "APP一直闪退，无法登录",
    "订单还没发货，想修改地址",
    "I was charged twice.",
    "請問會員積分怎麼兌換？",
    "孩子吃了有异物的饼干后住院",
]


def moment(rng: random.Random) -> Any:
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


def junk(rng: random.Random) -> Any:
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


def mutate(rng: random.Random, document: dict) -> bytes:
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
                target[key] = moment(rng)
            else:
                target[key] = junk(rng)
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


def signed(rng: random.Random, secret: str, body: bytes) -> dict[str, str]:
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


def webhook_document(rng: random.Random, channel: str, number: int) -> dict:
    text = rng.choice(TEXTS)
    if channel == "app":
        return {
            "feedback_id": f"fz-{number}",
            "content": text,
            "user": {"user_id": f"u{number % 97}"},
            "created_at": moment(rng) if rng.random() < 0.3 else None,
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


def call_event(rng: random.Random, number: int) -> dict:
    event = rng.choice(["offered", "answered", "abandoned", "wrap_up"])
    return {
        "event": event,
        "call_id": f"call-{number}",
        "at": moment(rng) if rng.random() < 0.2 else datetime.now(UTC).isoformat(),
        "caller": f"+86 138 0000 {number % 9999:04d}",
        "notes": rng.choice(TEXTS) if event == "wrap_up" else None,
        "callback_requested": rng.random() < 0.5,
    }


def wecom_call(rng: random.Random, number: int) -> tuple[dict[str, str], bytes]:
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


def mail(rng: random.Random, number: int) -> bytes:
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
