"""Load for the gateway benchmark, run as its own process (so it does not share the gateway's
event loop or core): a bounded number of requests over HTTP on loopback, a bounded number in
flight, each a signed channel webhook (or a generic request) with a distinct message id.

    python -m bench.gateway_load URL --requests N --concurrency C --kind webhook|generic

The channel secret comes from BENCH_SECRET. Prints one JSON line: accepted, statuses,
seconds, requests_per_second, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections import Counter

import aiohttp

from streams.adapters.webhook import sign

TEXTS = [
    "APP一直闪退，无法登录，急！",
    "订单还没发货，想修改地址",
    "I was charged twice for my order.",
    "请问会员积分怎么兑换？",
]


def body_for(kind: str, number: int, run: str) -> bytes:
    if kind == "generic":
        document = {
            "text": TEXTS[number % len(TEXTS)],
            "customer": {"phone": f"139{number:08d}"},
            "idempotency_key": f"{run}-{number}",
        }
    else:
        document = {
            "feedback_id": f"{run}-{number}",
            "content": TEXTS[number % len(TEXTS)],
            "user": {"phone": f"139{number:08d}"},
        }
    return json.dumps(document, ensure_ascii=False).encode()


async def run(url: str, requests: int, concurrency: int, kind: str, secret: bytes) -> dict:
    tag = uuid.uuid4().hex[:8]
    bodies = [body_for(kind, number, tag) for number in range(requests)]
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                headers = {"Content-Type": "application/json"}
                if kind == "webhook":
                    stamp = str(int(time.time()))
                    headers.update(
                        {"X-Ticketflow-Timestamp": stamp, "X-Ticketflow-Signature": sign(secret, stamp, body)}
                    )
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "accepted": statuses.get(202, 0),
        "statuses": {str(code): count for code, count in statuses.items()},
        "seconds": seconds,
        "requests_per_second": statuses.get(202, 0) / seconds,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kind", choices=["webhook", "generic"], default="webhook")
    arguments = parser.parse_args()
    secret = os.environ.get("BENCH_SECRET", "").encode()
    result = asyncio.run(run(arguments.url, arguments.requests, arguments.concurrency, arguments.kind, secret))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
