"""The processes of a deployment: `broker`, `topics`, `worker`, `gateway`, `imap-poll`."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import click

from streams.cli.common import (
    broker_port_option,
    configure_logging,
    ensure_topics,
    gateway_port_option,
    load_settings,
    partitions_option,
    policy_option,
    refuse_taken_ports,
    routing_option,
    smtp_port_option,
    wait_for_signal,
    worker_port_option,
)
from streams.transport.processes import exit_within


@click.command()
@broker_port_option
def broker(broker_port: int | None) -> None:
    """Run the embedded development broker (Tansu) in the foreground."""
    from streams.transport.broker import BrokerError, EmbeddedBroker

    settings = load_settings(broker_port=broker_port)
    port = settings.broker_port or 9092
    try:
        embedded = EmbeddedBroker(port=port).start()
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"embedded broker ready on {embedded.bootstrap} (memory only; Ctrl-C stops it)")
    click.echo(f"  export TICKETFLOW_BROKER_URL={embedded.bootstrap} TICKETFLOW_BROKER_KIND=embedded")
    wait_for_signal(lambda: embedded.alive())
    embedded.stop()


@click.command()
@partitions_option
def topics(partitions: int | None) -> None:
    """Create every topic of the pipeline on TICKETFLOW_BROKER_URL (idempotent)."""
    settings = load_settings(partitions=partitions)
    created = ensure_topics(settings)
    click.echo(f"{len(created)} topic(s) created" + (": " + ", ".join(created) if created else ""))


@click.command()
@worker_port_option
@partitions_option
@policy_option
@routing_option
def worker(
    worker_port: int | None, partitions: int | None, policy_file: Path | None, routing_file: Path | None
) -> None:
    """Run the stream worker (all agents and the SLA timer) against TICKETFLOW_BROKER_URL."""
    settings = load_settings(
        worker_port=worker_port, partitions=partitions, policy_file=policy_file, routing_file=routing_file
    )
    refuse_taken_ports({"worker port": (settings.worker_host, settings.worker_port, "worker_port")})
    ensure_topics(settings)
    # faust creates only the last level of its data folder (TICKETFLOW_STATE_DIR/<app id>).
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    import faust

    from streams.app import create_app

    app = create_app(settings)

    @app.task
    async def _quiet_faust_debug_logging() -> None:
        # faust leaves the root logger verbose; per-event debug logging costs throughput.
        logging.getLogger().setLevel(max(logging.WARNING, getattr(logging, settings.log_level.upper())))
        logging.getLogger("streams").setLevel(getattr(logging, settings.log_level.upper()))

    class Worker(faust.Worker):
        """faust's worker, which exits within STOP_GRACE_SECONDS of SIGTERM/SIGINT even when its
        broker is gone (its orderly shutdown would wait on the broker for ever)."""

        def _on_sigint(self) -> None:
            exit_within(code=130)
            super()._on_sigint()

        def _on_sigterm(self) -> None:
            exit_within(code=143)
            super()._on_sigterm()

    Worker(app, loglevel=settings.log_level, quiet=True).execute_from_commandline()


@click.command()
@gateway_port_option
@smtp_port_option
def gateway(gateway_port: int | None, smtp_port: int | None) -> None:
    """Run the ingestion gateway (HTTP channels, SMTP, IMAP poller) against TICKETFLOW_BROKER_URL."""
    from streams.gateway.server import serve
    from streams.transport.publisher import PublishError

    settings = load_settings(gateway_port=gateway_port, smtp_port=smtp_port)
    if not settings.broker_url:
        raise click.ClickException("TICKETFLOW_BROKER_URL is not set (or run `ticketflow up`)")
    configure_logging(settings.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stopping(signum: int) -> None:
            exit_within(code=128 + signum)
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stopping, signum)
        await serve(settings, stop=stop)

    refuse_taken_ports(
        {
            "gateway port": (settings.gateway_host, settings.gateway_port, "gateway_port"),
            "SMTP port": (settings.smtp_host, settings.smtp_port, "smtp_port"),
        }
    )
    try:
        asyncio.run(run())
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a port taken between the check and the listen
        raise click.ClickException(f"cannot listen: {exc}") from None


@click.command("imap-poll")
@click.option("--once", is_flag=True, help="Poll once and exit (default: every TICKETFLOW_IMAP_POLL_SECONDS).")
def imap_poll(once: bool) -> None:
    """Poll the support mailbox (TICKETFLOW_IMAP_*) into raw.email without running the gateway."""
    from streams.catalog import TopicCatalog
    from streams.gateway.imap import ImapError, ImapPoller
    from streams.gateway.intake import IntakeSink
    from streams.transport.publisher import KafkaPublisher, PublishError

    settings = load_settings()
    if not settings.broker_url:
        raise click.ClickException("TICKETFLOW_BROKER_URL is not set")
    if not settings.imap_host:
        raise click.ClickException("TICKETFLOW_IMAP_HOST is not set (and TICKETFLOW_IMAP_USER, _PASSWORD)")
    configure_logging(settings.log_level)

    async def run() -> None:
        publisher = KafkaPublisher(
            settings.bootstrap_servers,
            linger_ms=settings.producer_linger_ms,
            single_record_batches=settings.uses_single_record_batches,
            client_id="ticketflow-imap",
        )
        await publisher.start()
        try:
            sink = IntakeSink(
                publisher, TopicCatalog(settings.topic_prefix), max_record_bytes=settings.max_record_bytes
            )
            poller = ImapPoller.from_settings(sink, settings)
            if once:
                result = await poller.poll_once()
                click.echo(
                    f"{result.seen} new mail(s): {result.accepted} accepted, {result.refused} refused, "
                    f"{result.retry} left for later"
                )
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await poller.run(stop)
        finally:
            await publisher.stop()

    try:
        asyncio.run(run())
    except (PublishError, ImapError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
