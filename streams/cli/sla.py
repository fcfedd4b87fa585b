"""`sla replay`: recompute the clocks from the log under a new policy file (docs/sla.md)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click

from streams.cli.common import (
    load_settings,
)
from streams.domain.config_files import ConfigFileError


@click.group()
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
        raise click.BadParameter(
            f"{text!r} is neither an ISO 8601 time nor a duration like 24h", param_hint="--from"
        ) from None


@sla.command()
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="The new policy file.",
)
@click.option(
    "--current-policy",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="The policy file the live clocks were computed with (default: TICKETFLOW_POLICY_FILE).",
)
@click.option(
    "--from",
    "since",
    default=None,
    help="Only tickets with activity since this time (ISO 8601; without a zone, local time in "
    "TICKETFLOW_REPORT_TIMEZONE) or this long ago (24h).",
)
@click.option("--apply", is_flag=True, help="Publish repairs for the open tickets that change.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write every change to this file.",
)
def replay(
    policy_file: Path, current_policy: Path | None, since: str | None, apply: bool, json_path: Path | None
) -> None:
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
    report = asyncio.run(
        run_replay(
            bootstrap=settings.bootstrap_servers,
            catalog=TopicCatalog(settings.topic_prefix),
            routing=settings.routing,
            current=settings.policies,
            proposed=proposed,
            since=since_moment(since, settings.report_timezone),
            apply=apply,
        )
    )
    click.echo(("applied" if apply else "what-if (nothing changed; --apply publishes repairs)") + ":")
    for line in report.summary_lines():
        click.echo(f"  {line}")
    if json_path is not None:
        json_path.write_bytes(report_json(report))
        click.echo(f"details in {json_path}")
    if apply and report.repairs_published:
        click.echo("roll the new policy file out to the workers (TICKETFLOW_POLICY_FILE) so new tickets use it too")
