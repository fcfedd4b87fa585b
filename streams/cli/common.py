"""What the commands share: settings from the environment and flags, the common flags, ports, signals."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from streams.domain.config_files import ConfigFileError
from streams.settings import FLAG_FOR_SETTING, Settings, describe_settings_error
from streams.transport.processes import taken_ports


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


def configure_logging(level: str) -> None:
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


smtp_port_option = click.option(
    "--smtp-port", type=int, default=None, help="Inbound SMTP port (default 2525, 0 = off)."
)


def ensure_topics(settings: Settings) -> list[str]:
    from streams.catalog import pipeline_topic_specs
    from streams.transport.admin import TopicSetupError, ensure_topics

    if not settings.broker_url:
        raise click.ClickException("TICKETFLOW_BROKER_URL is not set (or run `ticketflow up`, which starts a broker)")
    try:
        return asyncio.run(ensure_topics(settings.bootstrap_servers, pipeline_topic_specs(settings)))
    except TopicSetupError as exc:
        raise click.ClickException(str(exc)) from None


def refuse_taken_ports(ports: dict[str, tuple[str, int, str]]) -> None:
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
        lines.append(
            f"  {entry} is in use by another process: stop it, or set TICKETFLOW_{name.upper()}"
            + (f" ({flag})" if flag else "")
        )
    raise click.ClickException("cannot start:\n" + "\n".join(lines))


def say(text: str, err: bool = False) -> None:
    """A line for the terminal that never stops a shutdown: under `make demo | tee log` + Ctrl-C
    the reader is gone, and a failed write must not skip stopping the children."""
    try:
        click.echo(text, err=err)
    except OSError:
        pass


def wait_for_signal(still_running) -> None:  # noqa: ANN001
    stop = {"now": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["now"] = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal was closed
        signal.signal(signum, request_stop)
    while not stop["now"] and still_running():
        time.sleep(0.2)
