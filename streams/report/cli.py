"""`ticketflow report --from DATE --to DATE --out FILE.html [--format html|markdown] [--kpi-file FILE]`."""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import click
from pydantic import ValidationError

from streams.catalog import TopicCatalog
from streams.domain.config_files import ConfigFileError
from streams.report.review import Review
from streams.settings import Settings, describe_settings_error


def _date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=flag) from None


class _Progress:
    """A progress bar on a terminal (stderr), nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def plan(self, total: int) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=" records", unit_scale=True, desc="reading", file=sys.stderr, leave=False)

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def make_report(
    *,
    bootstrap: str,
    prefix: str,
    first: date,
    last: date,
    zone: str,
    kpi_path: Path | None,
    output_format: str,
    follow_days: float,
    progress: _Progress | None = None,
) -> tuple[str, Review]:
    """Read the topics and render the review; returns (document, review)."""
    from streams.report import reader
    from streams.report.facts import Folder
    from streams.report.review import Period, build
    from streams.report.targets import load_kpis

    kpi_file = load_kpis(kpi_path)
    period = Period(first, last, zone)
    previous = period.previous()
    current_bounds, previous_bounds = period.bounds(), previous.bounds()
    folder = Folder(current_bounds, previous_bounds)
    plan = reader.read(
        bootstrap,
        TopicCatalog(prefix),
        folder,
        since=previous_bounds[0] - 3600,  # an hour of slack for producers' clocks
        until=current_bounds[1] + follow_days * 86400 if follow_days > 0 else None,
        on_plan=(lambda p: progress.plan(p.total)) if progress else None,
        progress=progress.advance if progress else None,
    )
    if progress:
        progress.close()
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    review = build(folder, period, kpi_file, generated_at=generated, missing_topics=plan.missing)
    if output_format == "markdown":
        from streams.report.markdown import render
    else:
        from streams.report.html import render
    return render(review), review


@click.command("report")
@click.option("--from", "first", required=True, help="First day of the period (YYYY-MM-DD, local time).")
@click.option("--to", "last", required=True, help="Last day of the period, inclusive (YYYY-MM-DD).")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="File to write.")
@click.option("--format", "output_format", type=click.Choice(["html", "markdown"]), default="html", show_default=True)
@click.option(
    "--kpi-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="KPI targets (default: the bundled kpis.yaml, seed 000; kpis-seed002.yaml, kpis-seed004.yaml).",
)
@click.option("--broker", default=None, help="Bootstrap servers (default: TICKETFLOW_BROKER_URL).")
@click.option(
    "--follow-days",
    type=float,
    default=14.0,
    show_default=True,
    help="Read events about the period's tickets up to this many days after it ends (0: to the end).",
)
def report(
    first: str, last: str, out: Path, output_format: str, kpi_file: Path | None, broker: str | None, follow_days: float
) -> None:
    """Write the review of a period: KPIs against targets, Pareto, trends, breached and reopened tickets."""
    start_day, end_day = _date(first, "--from"), _date(last, "--to")
    if end_day < start_day:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    try:
        settings = Settings(**({"broker_url": broker} if broker else {}))
    except ValidationError as exc:
        raise click.ClickException(describe_settings_error(exc)) from None
    if not settings.broker_url:
        raise click.ClickException("no broker: set TICKETFLOW_BROKER_URL or pass --broker host:port")
    from streams.report.charts import FontMissing
    from streams.report.reader import ReadError

    started = time.monotonic()
    progress = _Progress(sys.stderr.isatty())
    try:
        document, review = make_report(
            bootstrap=settings.bootstrap_servers,
            prefix=settings.topic_prefix,
            first=start_day,
            last=end_day,
            zone=settings.report_timezone,
            kpi_path=kpi_file,
            output_format=output_format,
            follow_days=follow_days,
            progress=progress,
        )
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    except (FontMissing, ReadError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        progress.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    met = sum(1 for target in review.targets if target["met"])
    click.echo(
        f"{out}: {review.counts['requests']:,} requests, {review.counts['breached']:,} breached, "
        f"{met}/{len(review.targets)} targets met ({time.monotonic() - started:.1f}s)"
    )
