"""`up` and `demo`: a whole stack on one machine, stopped together (docs/demo.md)."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr

from streams.cli.common import (
    broker_port_option,
    ensure_topics,
    gateway_port_option,
    load_settings,
    partitions_option,
    policy_option,
    refuse_taken_ports,
    routing_option,
    say,
    smtp_port_option,
    wait_for_signal,
    worker_port_option,
)
from streams.domain.config_files import bundled_file
from streams.settings import Settings


def with_run_token(settings: Settings, log_dir: Path) -> Settings:
    """Writes need a token: where none is configured, one for this run (client 'local'), kept in a
    file only its user can read; `_print_where_to_look` names the file, never the token."""
    if settings.client_tokens or settings.allow_anonymous_writes_insecure:
        return settings
    import secrets

    token = secrets.token_urlsafe(32)
    path = log_dir / "api-token"
    path.touch(mode=0o600)
    path.write_text(token + "\n", encoding="ascii")
    return Settings.model_validate({**settings.model_dump(), "api_tokens": SecretStr(f"local:{token}")})


def _start_stack(settings: Settings, log_dir: Path):  # noqa: ANN202
    from streams.supervisor import Supervisor

    refuse_taken_ports(
        {
            "gateway port": (settings.gateway_host, settings.gateway_port, "gateway_port"),
            "SMTP port": (settings.smtp_host, settings.smtp_port, "smtp_port"),
            "worker port": (settings.worker_host, settings.worker_port, "worker_port"),
        }
    )
    settings = with_run_token(settings, log_dir)
    status_url = f"http://{settings.worker_host}:{settings.worker_port}/v1/status"
    settings = Settings.model_validate({**settings.model_dump(), "readiness_worker_url": status_url})
    supervisor = Supervisor(settings, log_dir=log_dir)
    try:
        settings = supervisor.start_broker_if_needed()
        ensure_topics(settings)
        supervisor.spawn("worker", "worker")
        supervisor.spawn("gateway", "gateway")
        supervisor.wait_until("gateway", supervisor.gateway_ready, timeout=60)
        supervisor.wait_until("worker", supervisor.worker_ready, timeout=120)
    except BaseException:
        supervisor.stop()
        raise
    return supervisor


def _start_stack_or_exit(settings: Settings, log_dir: Path):  # noqa: ANN202
    """Start the stack; a Ctrl-C or a failure during start-up stops what was started and exits."""
    try:
        return _start_stack(settings, log_dir)
    except KeyboardInterrupt:
        click.echo("interrupted during start-up; everything started was stopped", err=True)
        raise SystemExit(130) from None
    except RuntimeError as exc:
        raise click.ClickException(f"{exc} (logs in {log_dir})") from None


def _print_where_to_look(settings: Settings, log_dir: Path) -> None:
    from streams.catalog import TopicCatalog

    catalog = TopicCatalog(settings.topic_prefix)
    click.echo(f"broker   {settings.broker_url} ({settings.broker_kind})")
    click.echo(
        f"gateway  http://{settings.gateway_host}:{settings.gateway_port}  (POST /v1/requests/<channel>, "
        "/v1/channels/<channel>/…, POST /v1/tickets/<id>/actions, GET /healthz, GET /metrics)"
    )
    click.echo(f"board    http://{settings.gateway_host}:{settings.gateway_port}/board  (the floor's live board)")
    if settings.smtp_port:
        click.echo(f"smtp     {settings.smtp_host}:{settings.smtp_port}  (mail to the support address → raw.email)")
    click.echo(f"worker   http://{settings.worker_host}:{settings.worker_port}/metrics  /v1/status  /v1/tickets/<id>")
    click.echo(
        f"topics   {catalog.name('raw.<channel>')} → {catalog.requests_normalized} → "
        f"{catalog.requests_classified} → {catalog.name('dept.<department>')}, {catalog.sla_events}, "
        f"{catalog.requests_invalid}"
    )
    if (log_dir / "api-token").exists():
        click.echo(f"token    {log_dir / 'api-token'}  (Authorization: Bearer <token>; client 'local', this run only)")
    click.echo(f"logs     {log_dir}")


def _interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP (a closed terminal) stop the demo like Ctrl-C: in order, nothing left."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


@click.command()
@broker_port_option
@gateway_port_option
@smtp_port_option
@worker_port_option
@partitions_option
@policy_option
@routing_option
def up(**flags: Any) -> None:
    """Broker (unless TICKETFLOW_BROKER_URL is set), worker and gateway together; Ctrl-C stops all."""
    settings = load_settings(**flags)
    log_dir = Path(tempfile.mkdtemp(prefix="ticketflow-"))
    supervisor = _start_stack_or_exit(settings, log_dir)
    try:
        _print_where_to_look(supervisor.settings, log_dir)
        click.echo("ready: the worker owns its partitions and has recovered its tables; Ctrl-C stops everything")
        wait_for_signal(lambda: len(supervisor.alive()) == len(supervisor.children))
        crashed = [child.name for child in supervisor.children if child.process.poll() is not None]
        if crashed:
            say(f"stopped because {', '.join(crashed)} exited; see {log_dir}", err=True)
    finally:
        supervisor.stop()
        say("stopped")


@click.command()
@broker_port_option
@gateway_port_option
@smtp_port_option
@worker_port_option
@partitions_option
@policy_option
@routing_option
@click.option("--rate", type=float, default=3.0, show_default=True, help="Simulated requests per second.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: until Ctrl-C).")
def demo(rate: float, duration: float | None, **flags: Any) -> None:
    """`up` plus a traffic simulator and a live one-screen summary."""
    from streams.demo import run_demo, with_channel_secrets

    if flags.get("policy_file") is None and not os.environ.get("TICKETFLOW_POLICY_FILE"):
        flags["policy_file"] = bundled_file("policies-demo.yaml")
    # Seconds-scale follow-ups and care (docs/followups.md), unless the environment names files.
    os.environ.setdefault("TICKETFLOW_FOLLOWUP_FILE", str(bundled_file("followups-demo.yaml")))
    os.environ.setdefault("TICKETFLOW_CARE_FILE", str(bundled_file("care-demo.yaml")))
    if rate <= 0:
        raise click.BadParameter("must be positive", param_hint="--rate")
    # The channels' webhook secrets and the WeChat Work callback keys: generated for this run
    # where not set, shared with the gateway through its environment, never printed.
    settings = with_channel_secrets(load_settings(**flags))
    log_dir = Path(tempfile.mkdtemp(prefix="ticketflow-demo-"))
    click.echo("starting broker, worker and gateway …")
    _interrupt_on_termination()
    supervisor = _start_stack_or_exit(settings, log_dir)
    try:
        _print_where_to_look(supervisor.settings, log_dir)
        click.echo("ready: the worker owns its partitions and has recovered its tables")
        click.echo(f"policy   {supervisor.settings.policy_file} (time-compressed targets for the demo)")
        mail = "mail over SMTP (email)" if supervisor.settings.smtp_port else "generic JSON (email: SMTP is off)"
        click.echo(
            "traffic  signed webhooks (app, webchat, social, vip), CTI call events (phone), WeChat Work "
            f"callbacks (wecom), {mail}, generic JSON (store); channel secrets generated for this run"
        )
        run_demo(supervisor, rate=rate, duration=duration)
    finally:
        say("\nstopping …")
        supervisor.stop()
        say("stopped; nothing left running")
