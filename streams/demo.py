"""`ticketflow demo`: simulated traffic through the running stack, and a live summary
built from the worker's and the gateway's own /metrics."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import defaultdict

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from streams.simulator import AgentBehaviour, TrafficGenerator
from streams.supervisor import Supervisor


async def scrape(session: aiohttp.ClientSession, url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples by name from a Prometheus text endpoint ({} when unreachable)."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            text = await response.text()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return {}
    samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def _by(samples: dict, name: str, label: str) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for labels, value in samples.get(name, []):
        totals[labels.get(label, "?")] += value
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def _sum(samples: dict, name: str, **match: str) -> float:
    return sum(value for labels, value in samples.get(name, []) if all(labels.get(k) == v for k, v in match.items()))


def render_summary(worker: dict, gateway: dict, *, elapsed: float, sent: int, planned: int) -> str:
    def line(title: str, counts: dict[str, float]) -> str:
        body = "  ".join(f"{key} {int(value)}" for key, value in counts.items()) or "—"
        return f"{title:<14}{body}"

    fulfilled_in_time = _sum(worker, "ticketflow_sla_fulfilled_total", within_target="true")
    fulfilled = _sum(worker, "ticketflow_sla_fulfilled_total")
    invalid = _sum(worker, "ticketflow_invalid_records_total") + _sum(gateway, "ticketflow_invalid_records_total")
    duplicates = _sum(gateway, "ticketflow_gateway_duplicates_total") + _sum(worker, "ticketflow_duplicates_total")
    rows = [
        f"Ticketflow demo — {elapsed:6.0f}s, {sent} requests sent, {planned} agent actions pending   (Ctrl-C stops)",
        "",
        line("by channel", _by(worker, "ticketflow_requests_total", "channel")),
        line("by type", _by(worker, "ticketflow_requests_total", "type")),
        line("by department", _by(worker, "ticketflow_requests_total", "department")),
        line("open tickets", _by(worker, "ticketflow_open_tickets", "department")),
        "",
        f"{'open':<14}{int(_sum(worker, 'ticketflow_open_tickets'))}",
        f"{'SLA warnings':<14}{int(_sum(worker, 'ticketflow_sla_warnings_total'))}",
        f"{'SLA breaches':<14}{int(_sum(worker, 'ticketflow_sla_breaches_total'))}"
        f"   (first response {int(_sum(worker, 'ticketflow_sla_breaches_total', metric='first_response'))},"
        f" resolution {int(_sum(worker, 'ticketflow_sla_breaches_total', metric='resolution'))})",
        f"{'in target':<14}{int(fulfilled_in_time)} of {int(fulfilled)} completed SLA metrics",
        f"{'invalid':<14}{int(invalid)}   duplicates collapsed {int(duplicates)}",
    ]
    return "\n".join(rows)


async def _simulate(supervisor: Supervisor, rate: float, duration: float | None, stop: asyncio.Event) -> None:
    settings = supervisor.settings
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    worker_metrics = f"http://{settings.worker_host}:{settings.worker_port}/metrics"
    traffic = TrafficGenerator(seed=int(time.time()))
    agents = AgentBehaviour(seed=int(time.time()) + 1)
    started = time.monotonic()
    next_request = started
    next_screen = started
    sent = 0
    interactive = sys.stdout.isatty()
    in_flight: set[asyncio.Task] = set()

    async with aiohttp.ClientSession() as session:

        async def post_request() -> None:
            request = traffic.next_request()
            body = request.raw_body if request.payload is None else None
            try:
                async with session.post(f"{gateway}/v1/requests/{request.channel}", json=request.payload, data=body,
                                        timeout=aiohttp.ClientTimeout(total=10)) as response:  # fmt: skip
                    if response.status == 202 and request.duplicate_of is None:
                        answer = await response.json()
                        agents.plan(answer["ticket_id"], time.monotonic())
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass

        async def post_action(ticket_id: str, body: dict) -> None:
            try:
                async with session.post(f"{gateway}/v1/tickets/{ticket_id}/actions", json=body,
                                        timeout=aiohttp.ClientTimeout(total=10)):  # fmt: skip
                    pass
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass

        def launch(coroutine) -> None:  # noqa: ANN001
            task = asyncio.ensure_future(coroutine)
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        while not stop.is_set():
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                break
            if len(supervisor.alive()) != len(supervisor.children):
                print("\na process of the stack exited; stopping", file=sys.stderr)
                break
            while next_request <= now and len(in_flight) < 200:
                launch(post_request())
                sent += 1
                next_request += 1.0 / rate
            for planned in agents.due(now):
                launch(post_action(planned.ticket_id, planned.body))
            if now >= next_screen:
                worker, gateway_samples = await asyncio.gather(
                    scrape(session, worker_metrics), scrape(session, f"{gateway}/metrics")
                )
                screen = render_summary(worker, gateway_samples, elapsed=now - started, sent=sent, planned=len(agents))
                print(("\x1b[H\x1b[2J" if interactive else "\n") + screen, flush=True)
                next_screen = now + (2.0 if interactive else 10.0)
            await asyncio.sleep(0.05)
        if in_flight:
            await asyncio.wait(in_flight, timeout=5)


def run_demo(supervisor: Supervisor, *, rate: float, duration: float | None) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await _simulate(supervisor, rate, duration, stop)

    asyncio.run(main())
