"""`ticketflow demo`: simulated traffic through the running stack, and a live summary
built from the worker's and the gateway's own /metrics.

The traffic arrives the way real traffic does: signed webhooks, CTI call events, WeChat Work
callbacks and mail to the SMTP intake (streams/senders.py), with secrets generated for the run
(`with_channel_secrets`) and handed to the gateway through its environment."""

from __future__ import annotations

import asyncio
import base64
import heapq
import itertools
import json
import random
import secrets
import signal
import smtplib
import sys
import time
from collections import defaultdict
from datetime import date

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from streams import senders
from streams.adapters import wecom
from streams.catalog import TopicCatalog
from streams.settings import SIGNED_CHANNELS, Settings
from streams.simulator import AgentBehaviour, TrafficGenerator, care_profiles
from streams.supervisor import Supervisor
from streams.transport.publisher import KafkaPublisher, PublishError


async def scrape(session: aiohttp.ClientSession, url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples by name from a Prometheus text endpoint ({} when unreachable)."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            text = await response.text()
    except (TimeoutError, aiohttp.ClientError):
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
        line("by adapter", _by(gateway, "ticketflow_gateway_accepted_total", "adapter")),
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
        f"{'hotline':<14}{int(_sum(gateway, 'ticketflow_calls_answered_total'))} calls answered"
        f" ({int(_sum(gateway, 'ticketflow_calls_answered_total', within_target='true'))} within target),"
        f" {int(_sum(gateway, 'ticketflow_calls_abandoned_total'))} abandoned",
        f"{'invalid':<14}{int(invalid)}   duplicates collapsed {int(duplicates)}",
        "",
        *followup_rows(worker),
    ]
    return "\n".join(rows)


def followup_rows(worker: dict) -> list[str]:
    """Surveys, answers, CSAT, recoveries and care messages (docs/followups.md)."""
    answers = _sum(worker, "ticketflow_feedback_answers_total")
    satisfied = _sum(worker, "ticketflow_feedback_answers_total", satisfied="true")
    scores = _by(worker, "ticketflow_feedback_csat_total", "score")
    rated = sum(scores.values())
    csat = sum(int(score) * count for score, count in scores.items()) / rated if rated else 0.0
    share = f"{100 * satisfied / answers:.0f}% satisfied" if answers else "—"
    return [
        f"{'surveys':<14}{int(_sum(worker, 'ticketflow_followups_sent_total', kind='survey'))} sent,"
        f" {int(_sum(worker, 'ticketflow_followups_sent_total', kind='callback'))} callbacks,"
        f" {int(_sum(worker, 'ticketflow_followups_cancelled_total'))} cancelled",
        f"{'answers':<14}{int(answers)}   CSAT {csat:.2f}   {share}",
        f"{'recoveries':<14}{int(_sum(worker, 'ticketflow_recoveries_total', action='reopen'))} reopened,"
        f" {int(_sum(worker, 'ticketflow_followups_sent_total', kind='second_followup'))} second follow-ups",
        line_of(
            "care",
            _by(worker, "ticketflow_care_sent_total", "occasion"),
            int(_sum(worker, "ticketflow_care_suppressed_total")),
        ),
    ]


def line_of(title: str, counts: dict[str, float], suppressed: int) -> str:
    body = "  ".join(f"{key} {int(value)}" for key, value in counts.items()) or "—"
    return f"{title:<14}{body}   suppressed {suppressed}"


async def publish_profiles(bootstrap: str, topic: str, profiles: list[dict]) -> None:
    """The simulated CRM: profiles onto customers.profiles, keyed by customer id."""
    publisher = KafkaPublisher(bootstrap)
    try:
        await publisher.start()
        for profile in profiles:
            await publisher.publish(topic, profile["customer_id"].encode(), json.dumps(profile).encode())
    except PublishError as exc:
        print(f"customer profiles not published: {exc}", file=sys.stderr)
    finally:
        await publisher.stop()


def with_channel_secrets(settings: Settings) -> Settings:
    """The settings with a fresh secret for every signed channel and a WeChat Work callback
    configuration, where none is set already (the demo's senders and its gateway share them;
    they reach the gateway through its environment and are never printed)."""
    update: dict[str, object] = {}
    for channel in SIGNED_CHANNELS:
        if settings.channel_secret(channel) is None:
            update[f"{channel}_secret"] = SecretStr(secrets.token_urlsafe(32))
    if settings.wecom_token is None:
        update["wecom_token"] = SecretStr(secrets.token_hex(16))
        update["wecom_aes_key"] = SecretStr(base64.b64encode(secrets.token_bytes(32)).decode("ascii")[:43])
        update["wecom_corp_id"] = "ww" + secrets.token_hex(8)
    return Settings.model_validate({**settings.model_dump(), **update}) if update else settings


def channel_secrets(settings: Settings) -> senders.ChannelSecrets:
    crypto = None
    if settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id:
        crypto = wecom.WeComCrypto.create(
            settings.wecom_token.get_secret_value(), settings.wecom_aes_key.get_secret_value(), settings.wecom_corp_id
        )
    keys = {channel: secret for channel in SIGNED_CHANNELS if (secret := settings.channel_secret(channel))}
    token = next(iter(settings.client_tokens.values()), None)
    return senders.ChannelSecrets(keys, crypto, token)


def _deliver_mail(host: str, port: int, mail: senders.Mail) -> bool:
    """One mail to the SMTP intake (blocking; run in a thread). False when it was refused."""
    try:
        with smtplib.SMTP(host, port, timeout=10) as client:
            client.sendmail(mail.envelope_from, list(mail.recipients), mail.message)
        return True
    except (smtplib.SMTPException, OSError):
        return False


async def _simulate(supervisor: Supervisor, rate: float, duration: float | None, stop: asyncio.Event) -> None:
    settings = supervisor.settings
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    worker_metrics = f"http://{settings.worker_host}:{settings.worker_port}/metrics"
    smtp_host = "127.0.0.1" if settings.smtp_host in ("0.0.0.0", "") else settings.smtp_host
    keys = channel_secrets(settings)
    traffic = TrafficGenerator(seed=int(time.time()), follow_up_share=0.06)
    agents = AgentBehaviour(seed=int(time.time()) + 1)
    started = time.monotonic()
    next_request = started
    next_screen = started
    sent = 0
    interactive = sys.stdout.isatty()
    in_flight: set[asyncio.Task] = set()
    outbox: list[tuple[float, int, senders.Outbound]] = []  # (when, order, call): calls wait for their moment
    order = itertools.count()

    customers = traffic.customers
    await publish_profiles(
        settings.bootstrap_servers,
        TopicCatalog(settings.topic_prefix).customers_profiles,
        care_profiles(customers, date.today(), random.Random(3)),
    )

    async with aiohttp.ClientSession() as session:

        def delivered(outbound: senders.Outbound) -> None:
            if outbound.opens:
                agents.plan(outbound.opens, time.monotonic())
            if outbound.follows_up:
                agents.follow_up(outbound.follows_up, time.monotonic())

        async def send(outbound: senders.Outbound) -> None:
            call = outbound.call
            if isinstance(call, senders.Mail):
                if await asyncio.to_thread(_deliver_mail, smtp_host, settings.smtp_port, call):
                    delivered(outbound)
                return
            try:
                timeout = aiohttp.ClientTimeout(total=10)
                async with session.request(
                    call.method,
                    gateway + call.path,
                    params=call.query or None,
                    data=call.body,
                    headers=dict(call.headers),
                    timeout=timeout,
                ) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        delivered(outbound)
            except (TimeoutError, aiohttp.ClientError):
                pass

        async def post_action(ticket_id: str, body: dict) -> None:
            headers = {"Authorization": f"Bearer {keys.api_token}"} if keys.api_token else None
            path = "/v1/feedback" if "csat" in body else f"/v1/tickets/{ticket_id}/actions"  # a survey answer
            try:
                async with session.post(
                    f"{gateway}{path}", json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
                ):
                    pass
            except (TimeoutError, aiohttp.ClientError):
                pass

        def launch(coroutine) -> None:  # noqa: ANN001
            task = asyncio.ensure_future(coroutine)
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        async def show(now: float) -> None:
            worker, gateway_samples = await asyncio.gather(
                scrape(session, worker_metrics), scrape(session, f"{gateway}/metrics")
            )
            screen = render_summary(worker, gateway_samples, elapsed=now - started, sent=sent, planned=len(agents))
            print(("\x1b[H\x1b[2J" if interactive else "\n") + screen, flush=True)

        while not stop.is_set():
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                break
            if len(supervisor.alive()) != len(supervisor.children):
                print("\na process of the stack exited; stopping", file=sys.stderr)
                break
            while next_request <= now and len(in_flight) < 200:
                request = traffic.next_request()
                for outbound in senders.encode(request, keys, time.time(), mail=bool(settings.smtp_port)):
                    heapq.heappush(outbox, (outbound.at, next(order), outbound))
                sent += 1
                next_request += 1.0 / rate
            while outbox and outbox[0][0] <= time.time() and len(in_flight) < 200:
                launch(send(heapq.heappop(outbox)[2]))
            for planned in agents.due(now):
                launch(post_action(planned.ticket_id, planned.body))
            if now >= next_screen:
                await show(now)
                next_screen = now + (2.0 if interactive else 10.0)
            await asyncio.sleep(0.05)
        if in_flight:
            await asyncio.wait(in_flight, timeout=5)
        await asyncio.sleep(1.0)  # let the last records reach the worker's counters
        await show(time.monotonic())


def run_demo(supervisor: Supervisor, *, rate: float, duration: float | None) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await _simulate(supervisor, rate, duration, stop)

    asyncio.run(main())
