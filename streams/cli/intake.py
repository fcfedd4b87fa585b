"""`import`: a request log sheet into the pipeline (docs/channels.md)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from streams.cli.common import (
    load_settings,
)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sheet", "sheet_name", default=None, help="XLSX sheet to read (default: the active one).")
@click.option("--dry-run", is_flag=True, help="Read and check every row; publish nothing.")
def import_sheet(file: Path, sheet_name: str | None, dry_run: bool) -> None:
    """Import a request log sheet (客户需求登记与跟踪表; CSV or XLSX with its Chinese headers).

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
        publisher = KafkaPublisher(
            settings.bootstrap_servers,
            linger_ms=settings.producer_linger_ms,
            single_record_batches=settings.uses_single_record_batches,
            client_id="ticketflow-import",
        )
        await publisher.start()
        try:
            sink = IntakeSink(
                publisher, TopicCatalog(settings.topic_prefix), max_record_bytes=settings.max_record_bytes
            )
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
    summary = (
        f"{report.rows} rows: {report.published} {verb} ({channels or 'none'}), {report.actions} actions, "
        f"{len(report.invalid)} invalid"
    )
    if dry_run:
        summary += "; dry run, nothing published"
    elif report.invalid:
        summary += " (kept on requests.invalid)"
    click.echo(summary)
    if report.invalid:
        sys.exit(2)
