"""The gateway process: HTTP, the SMTP intake and the IMAP poller around one publisher, until
stopped (docs/channels.md, docs/operations.md)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from streams.gateway.app import Gateway
from streams.gateway.http import JsonAccessLogger
from streams.gateway.imap import ImapPoller
from streams.gateway.smtp import SmtpLimits, start_smtp
from streams.settings import Settings
from streams.transport.publisher import KafkaPublisher

log = logging.getLogger("ticketflow.gateway")


async def serve(settings: Settings, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> None:
    """Run the gateway — HTTP, SMTP and the IMAP poller when configured — until `stop` is set."""
    publisher = KafkaPublisher(
        settings.bootstrap_servers,
        linger_ms=settings.producer_linger_ms,
        single_record_batches=settings.uses_single_record_batches,
        max_record_bytes=settings.max_record_bytes,
    )
    # The gateway listens at once; until the broker answers, writes get 503 with Retry-After
    # and /healthz says the broker is unreachable.
    publisher.connect_in_background()
    if settings.allow_anonymous_writes_insecure:
        log.warning(
            "TICKETFLOW_ALLOW_ANONYMOUS_WRITES_INSECURE is on: /v1/requests and /v1/tickets/…/actions "
            "accept writes without a token; use it on a closed development network only"
        )
    elif not settings.client_tokens:
        log.warning(
            "no API token is set (TICKETFLOW_API_TOKENS): /v1/requests and /v1/tickets/…/actions refuse "
            "every write with 401"
        )
    gateway = Gateway(settings, publisher)
    runner = web.AppRunner(
        gateway.build(), access_log_class=JsonAccessLogger, access_log=logging.getLogger("ticketflow.access")
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.gateway_host, settings.gateway_port)
    smtp_server: asyncio.AbstractServer | None = None
    poller_task: asyncio.Task | None = None
    stopping = stop or asyncio.Event()
    try:
        await site.start()
        log.info("gateway listening on http://%s:%d", settings.gateway_host, settings.gateway_port)
        if settings.smtp_port:
            tls = settings.smtp_tls_context()
            smtp_server = await start_smtp(
                gateway.sink,
                settings.smtp_host,
                settings.smtp_port,
                settings.mail_max_bytes,
                tls_context=tls,
                require_tls=tls is not None and settings.smtp_requires_tls,
                allowed_peers=settings.smtp_allowed_networks,
                limits=SmtpLimits(
                    settings.smtp_max_recipients,
                    settings.smtp_max_connections,
                    settings.smtp_peer_connections_per_minute,
                ),
            )
            log.info(
                "SMTP intake listening on %s:%d (STARTTLS %s, peers: %s)",
                settings.smtp_host,
                settings.smtp_port,
                ("required" if settings.smtp_requires_tls else "offered") if tls else "off",
                settings.smtp_allowed_peers or "any",
            )
        if settings.imap_host:
            poller = ImapPoller.from_settings(gateway.sink, settings)
            poller_task = asyncio.create_task(poller.run(stopping))
            log.info(
                "polling IMAP mailbox %s on %s:%d every %gs",
                settings.imap_mailbox,
                settings.imap_host,
                settings.imap_port,
                settings.imap_poll_seconds,
            )
        if ready is not None:
            ready.set()
        await stopping.wait()
    finally:
        stopping.set()
        if poller_task is not None:
            await asyncio.gather(poller_task, return_exceptions=True)
        if smtp_server is not None:
            smtp_server.close()
            await smtp_server.wait_closed()
        await runner.cleanup()
        await publisher.stop()
