"""The `ticketflow` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr, ValidationError

from streams.domain.config_files import ConfigFileError, bundled_file
from streams.report.cli import report as report_command
from streams.settings import FLAG_FOR_SETTING, Settings, describe_settings_error
from streams.transport.processes import exit_within, taken_ports

def load_settings(**flags: Any) -> Settings:
    """Settings from the environment, overridden by the flags given; exits with a clear message on error."""
    unknown = set(flags) - set(FLAG_FOR_SETTING)
    assert not unknown, f"flags without a setting: {unknown}"
    overrides = {name: value for name, value in flags.items() if value is not None}
    try:
        settings = Settings(**overrides)
        settings.load_operator_files()
        settings.apply_process_wide()
    except ValidationError as exc:
        raise click.ClickException(describe_settings_error(exc)) from None
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    return settings


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


broker_port_option = click.option("--broker-port", type=int, default=None, help="Embedded broker port (0 = free).")
gateway_port_option = click.option("--gateway-port", type=int, default=None, help="Gateway HTTP port (default 8080).")
worker_port_option = click.option("--worker-port", type=int, default=None, help="Worker web port (default 6066).")
partitions_option = click.option("--partitions", type=int, default=None, help="Partitions per topic.")
policy_option = click.option("--policy-file", type=click.Path(path_type=Path), default=None, help="SLA policy YAML.")
routing_option = click.option("--routing-file", type=click.Path(path_type=Path), default=None, help="Routing YAML.")
smtp_port_option = click.option("--smtp-port", type=int, default=None, help="Inbound SMTP port (default 2525, 0 = off).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Ticketflow: customer requests from every channel → routed tickets with SLA clocks."""


@main.command()
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
    _wait_for_signal(lambda: embedded.alive())
    embedded.stop()


@main.command()
@partitions_option
def topics(partitions: int | None) -> None:
    """Create every topic of the pipeline on TICKETFLOW_BROKER_URL (idempotent)."""
    settings = load_settings(partitions=partitions)
    created = _ensure_topics(settings)
    click.echo(f"{len(created)} topic(s) created" + (": " + ", ".join(created) if created else ""))


def _ensure_topics(settings: Settings) -> list[str]:
    from streams.catalog import pipeline_topic_specs
    from streams.transport.admin import TopicSetupError, ensure_topics

    if not settings.broker_url:
        raise click.ClickException("TICKETFLOW_BROKER_URL is not set (or run `ticketflow up`, which starts a broker)")
    try:
        return asyncio.run(ensure_topics(settings.bootstrap_servers, pipeline_topic_specs(settings)))
    except TopicSetupError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@worker_port_option
@partitions_option
@policy_option
@routing_option
def worker(worker_port: int | None, partitions: int | None, policy_file: Path | None, routing_file: Path | None) -> None:
    """Run the stream worker (all agents and the SLA timer) against TICKETFLOW_BROKER_URL."""
    settings = load_settings(worker_port=worker_port, partitions=partitions, policy_file=policy_file,
                             routing_file=routing_file)  # fmt: skip
    _refuse_taken_ports({"worker port": (settings.worker_host, settings.worker_port, "worker_port")})
    _ensure_topics(settings)
    # faust creates only the last level of its data folder (TICKETFLOW_STATE_DIR/<app id>).
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    from streams.supervisor import settings_environment

    os.environ.update(settings_environment(settings))  # the app module reads its settings from here
    import faust

    from streams import web  # noqa: F401 - registers agents, timers and pages
    from streams.app import app

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


@main.command()
@gateway_port_option
@smtp_port_option
def gateway(gateway_port: int | None, smtp_port: int | None) -> None:
    """Run the ingestion gateway (HTTP channels, SMTP, IMAP poller) against TICKETFLOW_BROKER_URL."""
    from streams.gateway.app import serve
    from streams.transport.publisher import PublishError

    settings = load_settings(gateway_port=gateway_port, smtp_port=smtp_port)
    if not settings.broker_url:
        raise click.ClickException("TICKETFLOW_BROKER_URL is not set (or run `ticketflow up`)")
    _configure_logging(settings.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stopping(signum: int) -> None:
            exit_within(code=128 + signum)
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stopping, signum)
        await serve(settings, stop=stop)

    _refuse_taken_ports({"gateway port": (settings.gateway_host, settings.gateway_port, "gateway_port"),
                         "SMTP port": (settings.smtp_host, settings.smtp_port, "smtp_port")})  # fmt: skip
    try:
        asyncio.run(run())
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a port taken between the check and the listen
        raise click.ClickException(f"cannot listen: {exc}") from None


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sheet", "sheet_name", default=None, help="XLSX sheet to read (default: the active one).")
@click.option("--dry-run", is_flag=True, help="Read and check every row; publish nothing.")
def import_sheet(file: Path, sheet_name: str | None, dry_run: bool) -> None:
    """Import a request log sheet (seed 004 table 1; CSV or XLSX with its Chinese headers).

    Each row becomes a request on raw.<channel> (from 需求渠道), plus reply/resolve actions when
    it was already answered or resolved. Bad rows are reported with their line number and kept
    on requests.invalid; exit status 2 when there were any. Re-importing creates nothing new.
    """
    from streams.adapters.sheet import SheetError
    from streams.catalog import TopicCatalog
    from streams.gateway.intake import IntakeSink
    from streams.importer import import_rows, read_rows
    from streams.transport.publisher import KafkaPublisher, PublishError

    settings = load_settings()
    try:
        rows = read_rows(file, sheet_name)
    except SheetError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if not dry_run and not settings.broker_url:
        raise click.ClickException("TICKETFLOW_BROKER_URL is not set (or use --dry-run to only check the file)")

    async def run():  # noqa: ANN202
        if dry_run:
            return await import_rows(rows, None, file_name=file.name, timezone_name=settings.sheet_timezone)
        publisher = KafkaPublisher(settings.bootstrap_servers, linger_ms=settings.producer_linger_ms,
                                   single_record_batches=settings.uses_single_record_batches,
                                   client_id="ticketflow-import")  # fmt: skip
        await publisher.start()
        try:
            sink = IntakeSink(publisher, TopicCatalog(settings.topic_prefix), max_record_bytes=settings.max_record_bytes)
            return await import_rows(rows, sink, file_name=file.name, timezone_name=settings.sheet_timezone)
        finally:
            await publisher.stop()

    try:
        report = asyncio.run(run())
    except PublishError as exc:
        raise click.ClickException(f"{exc}; run the import again (rows already published are not duplicated)") from None
    for line, reason in report.invalid:
        click.echo(f"{file.name} line {line}: {reason.removeprefix(f'{file.name} line {line}: ')}", err=True)
    channels = ", ".join(f"{channel} {count}" for channel, count in sorted(report.by_channel.items()))
    verb = "valid" if dry_run else "published"
    summary = (f"{report.rows} rows: {report.published} {verb} ({channels or 'none'}), {report.actions} actions, "
               f"{len(report.invalid)} invalid")  # fmt: skip
    if dry_run:
        summary += "; dry run, nothing published"
    elif report.invalid:
        summary += " (kept on requests.invalid)"
    click.echo(summary)
    if report.invalid:
        sys.exit(2)


@main.command("imap-poll")
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
    _configure_logging(settings.log_level)

    async def run() -> None:
        publisher = KafkaPublisher(settings.bootstrap_servers, linger_ms=settings.producer_linger_ms,
                                   single_record_batches=settings.uses_single_record_batches,
                                   client_id="ticketflow-imap")  # fmt: skip
        await publisher.start()
        try:
            sink = IntakeSink(publisher, TopicCatalog(settings.topic_prefix), max_record_bytes=settings.max_record_bytes)
            poller = ImapPoller.from_settings(sink, settings)
            if once:
                result = await poller.poll_once()
                click.echo(f"{result.seen} new mail(s): {result.accepted} accepted, {result.refused} refused, "
                           f"{result.retry} left for later")  # fmt: skip
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


def _refuse_taken_ports(ports: dict[str, tuple[str, int, str]]) -> None:
    """Stop with a message naming each port already taken and the setting that moves it (a stack
    from an earlier run still holding it would otherwise answer in this one's place)."""
    taken = taken_ports({what: (host, port) for what, (host, port, _) in ports.items()})
    if not taken:
        return
    settings_by_port = {f"{what} {host}:{port}": name for what, (host, port, name) in ports.items()}
    lines = []
    for entry in taken:
        name = settings_by_port[entry]
        flag = FLAG_FOR_SETTING.get(name)
        lines.append(f"  {entry} is in use by another process: stop it, or set TICKETFLOW_{name.upper()}"
                     + (f" ({flag})" if flag else ""))  # fmt: skip
    raise click.ClickException("cannot start:\n" + "\n".join(lines))


def _start_stack(settings: Settings, log_dir: Path):  # noqa: ANN202
    from streams.supervisor import Supervisor

    _refuse_taken_ports({
        "gateway port": (settings.gateway_host, settings.gateway_port, "gateway_port"),
        "SMTP port": (settings.smtp_host, settings.smtp_port, "smtp_port"),
        "worker port": (settings.worker_host, settings.worker_port, "worker_port"),
    })  # fmt: skip
    settings = with_run_token(settings, log_dir)
    status_url = f"http://{settings.worker_host}:{settings.worker_port}/v1/status"
    settings = Settings.model_validate({**settings.model_dump(), "readiness_worker_url": status_url})
    supervisor = Supervisor(settings, log_dir=log_dir)
    try:
        settings = supervisor.start_broker_if_needed()
        _ensure_topics(settings)
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
    click.echo(f"gateway  http://{settings.gateway_host}:{settings.gateway_port}  (POST /v1/requests/<channel>, "
               "/v1/channels/<channel>/…, POST /v1/tickets/<id>/actions, GET /healthz, GET /metrics)")  # fmt: skip
    if settings.smtp_port:
        click.echo(f"smtp     {settings.smtp_host}:{settings.smtp_port}  (mail to the support address → raw.email)")
    click.echo(f"worker   http://{settings.worker_host}:{settings.worker_port}/metrics  /v1/status  /v1/tickets/<id>")
    click.echo(f"topics   {catalog.name('raw.<channel>')} → {catalog.requests_normalized} → "
               f"{catalog.requests_classified} → {catalog.name('dept.<department>')}, {catalog.sla_events}, "
               f"{catalog.requests_invalid}")  # fmt: skip
    if (log_dir / "api-token").exists():
        click.echo(f"token    {log_dir / 'api-token'}  (Authorization: Bearer <token>; client 'local', this run only)")
    click.echo(f"logs     {log_dir}")


def _interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP (a closed terminal) stop the demo like Ctrl-C: in order, nothing left."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def _say(text: str, err: bool = False) -> None:
    """A line for the terminal that never stops a shutdown: under `make demo | tee log` + Ctrl-C
    the reader is gone, and a failed write must not skip stopping the children."""
    try:
        click.echo(text, err=err)
    except OSError:
        pass


def _wait_for_signal(still_running) -> None:  # noqa: ANN001
    stop = {"now": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["now"] = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal was closed
        signal.signal(signum, request_stop)
    while not stop["now"] and still_running():
        time.sleep(0.2)


@main.command()
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
        _wait_for_signal(lambda: len(supervisor.alive()) == len(supervisor.children))
        crashed = [child.name for child in supervisor.children if child.process.poll() is not None]
        if crashed:
            _say(f"stopped because {', '.join(crashed)} exited; see {log_dir}", err=True)
    finally:
        supervisor.stop()
        _say("stopped")


@main.command()
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
        click.echo("traffic  signed webhooks (app, webchat, social, vip), CTI call events (phone), WeChat Work "
                   f"callbacks (wecom), {mail}, generic JSON (store); channel secrets generated for this run")  # fmt: skip
        run_demo(supervisor, rate=rate, duration=duration)
    finally:
        _say("\nstopping …")
        supervisor.stop()
        _say("stopped; nothing left running")


@main.command()
@routing_option
@policy_option
def classify(routing_file: Path | None, policy_file: Path | None) -> None:
    """Classify request texts from stdin: one per line, or JSON lines with text, channel, customer."""
    from streams.domain.routing import route

    settings = load_settings(routing_file=routing_file, policy_file=policy_file)
    classifier, routing, policies = settings.classifier, settings.routing, settings.policies
    for number, line in enumerate(sys.stdin, start=1):
        line = line.strip()
        if not line:
            continue
        channel, tier, subject = None, None, None
        text = line
        if line.startswith("{"):
            try:
                document = json.loads(line)
                text = str(document["text"])
            except (ValueError, KeyError, TypeError) as exc:
                click.echo(json.dumps({"line": number, "error": f"not a JSON object with 'text': {exc}"}))
                continue
            channel = document.get("channel")
            subject = document.get("subject")
            customer = document.get("customer") or {}
            tier = customer.get("tier") if isinstance(customer, dict) else None
        result = classifier.classify(text, subject, segment=tier)
        facts = {"channel": channel, "type": result.type, "urgency": result.urgency,
                 "complaint_grade": result.complaint_grade, "tier": result.segment, "aspects": result.aspects}  # fmt: skip
        decision = route(routing, facts, result.confidence)
        policy = policies.select({**facts, "department": decision.department})
        click.echo(
            json.dumps(
                {
                    "text": text,
                    "type": result.type,
                    "urgency": result.urgency,
                    "complaint_grade": result.complaint_grade,
                    "sentiment": result.sentiment,
                    "angry": result.angry,
                    "aspects": result.aspects,
                    "department": decision.department,
                    "cc": list(decision.cc),
                    "policy": policy.name,
                    "confidence": result.confidence,
                    "reasons": result.reasons + decision.reasons,
                    "model_version": result.model_version,
                },
                ensure_ascii=False,
            )
        )


@main.group()
def sla() -> None:
    """SLA maintenance."""


def since_moment(text: str | None, local_zone: str) -> float | None:
    """ISO 8601 (a time without a zone is local time in `local_zone`), or a duration back from
    now ('24h', '7d')."""
    if text is None:
        return None
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from streams.domain.durations import parse_duration

    try:
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(local_zone))).timestamp()
    except ValueError:
        pass
    try:
        return time.time() - parse_duration(text).seconds
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither an ISO 8601 time nor a duration like 24h", param_hint="--from")


@sla.command()
@click.option("--policy", "policy_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="The new policy file.")  # fmt: skip
@click.option("--current-policy", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The policy file the live clocks were computed with (default: TICKETFLOW_POLICY_FILE).")  # fmt: skip
@click.option("--from", "since", default=None,
              help="Only tickets with activity since this time (ISO 8601; without a zone, local time in "
                   "TICKETFLOW_REPORT_TIMEZONE) or this long ago (24h).")  # fmt: skip
@click.option("--apply", is_flag=True, help="Publish repairs for the open tickets that change.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write every change to this file.")  # fmt: skip
def replay(policy_file: Path, current_policy: Path | None, since: str | None, apply: bool, json_path: Path | None) -> None:
    """Recompute every clock from the log under a new policy file and report (or apply) the changes."""
    from streams.catalog import TopicCatalog
    from streams.domain.config_files import load_yaml_model
    from streams.domain.policies import PolicyFile
    from streams.replay import report_json, run_replay

    settings = load_settings(policy_file=current_policy)
    if not settings.broker_url:
        raise click.ClickException("TICKETFLOW_BROKER_URL is not set")
    try:
        proposed = load_yaml_model(policy_file, PolicyFile)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    report = asyncio.run(run_replay(bootstrap=settings.bootstrap_servers, catalog=TopicCatalog(settings.topic_prefix),
                                    routing=settings.routing, current=settings.policies, proposed=proposed,
                                    since=since_moment(since, settings.report_timezone), apply=apply))  # fmt: skip
    click.echo(("applied" if apply else "what-if (nothing changed; --apply publishes repairs)") + ":")
    for line in report.summary_lines():
        click.echo(f"  {line}")
    if json_path is not None:
        json_path.write_bytes(report_json(report))
        click.echo(f"details in {json_path}")
    if apply and report.repairs_published:
        click.echo("roll the new policy file out to the workers (TICKETFLOW_POLICY_FILE) so new tickets use it too")


@main.command()
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder with train/ (default: the repository's data/).")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the artefact (default: the one the worker loads).")  # fmt: skip
def train(data_dir: Path | None, output: Path | None) -> None:
    """Train the classification model from data/train/ and write the artefact the worker loads."""
    from streams.domain.model import default_artefact_path
    from streams.training.datasets import HeldOutRowError, default_data_dir
    from streams.training.train import train as run_training

    try:
        run_training(data_dir or default_data_dir(), output or default_artefact_path(), log=click.echo)
    except (HeldOutRowError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command(name="import-data")
@click.option("--datasets", "datasets_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The public data sets (default: ../shared/datasets).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where train/ is written (default: the repository's data/).")  # fmt: skip
def import_data(datasets_dir: Path | None, data_dir: Path | None) -> None:
    """Copy the development rows of the public data sets into data/train/ (held-out rows never)."""
    from streams.training.datasets import default_data_dir, default_datasets_dir, import_training_data

    counts = import_training_data(datasets_dir or default_datasets_dir(), data_dir or default_data_dir())
    click.echo("copied " + ", ".join(f"{name} {count} rows" for name, count in counts.items()))


@main.command(name="eval")
@click.option("--datasets", "datasets_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The public data sets (default: ../shared/datasets).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder with testset/ (default: the repository's data/).")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=Path("eval-results/eval.json"),
              show_default=True, help="JSON report.")
@click.option("--sample", type=int, default=None, help="Evaluate an even sample of N rows per data set.")
@click.option("--misses", is_flag=True, help="Also print the test-set requests classified wrongly.")
@routing_option
def evaluate_command(datasets_dir: Path | None, data_dir: Path | None, output: Path, sample: int | None,
                     misses: bool, routing_file: Path | None) -> None:  # fmt: skip
    """Accuracy, macro-F1 and confusion matrices on every evaluation split and the test set."""
    from streams.training.datasets import default_data_dir, default_datasets_dir
    from streams.training.evaluate import as_json, evaluate, render_table

    settings = load_settings(routing_file=routing_file)
    classifier = settings.classifier
    datasets_dir = datasets_dir or default_datasets_dir()
    if not datasets_dir.is_dir():
        raise click.ClickException(f"{datasets_dir}: no such folder (set --datasets)")
    results = evaluate(classifier, settings.routing, datasets_dir=datasets_dir, data_dir=data_dir or default_data_dir(),
                       sample=sample, log=lambda line: click.echo(line, err=True))  # fmt: skip
    click.echo(render_table(results, classifier.version))
    document = as_json(results, classifier.version)
    if misses:
        development = next(item for item in document["datasets"] if item["name"] == "testset")
        for miss in development["misses"]:  # the held-out set's are never listed
            click.echo(json.dumps(miss, ensure_ascii=False))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(f"\nwritten to {output}")


main.add_command(report_command)

if __name__ == "__main__":
    main()
