"""`ticketflow import FILE`: the request log sheet (客户需求登记与跟踪表, docs/channels.md) → raw.<channel> and
tickets.actions, row by row (see streams/adapters/sheet.py for what a row becomes).

Each row is published and acknowledged before the next; a bad row is reported with its line
number and kept on requests.invalid. Re-importing a file publishes the same ids again, which
the pipeline collapses: nothing new is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from streams.adapters import sheet
from streams.adapters.base import Refusal
from streams.gateway.intake import IntakeSink


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    published: int = 0
    actions: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


async def import_rows(
    rows: list[sheet.SheetRow], sink: IntakeSink | None, *, file_name: str, timezone_name: str
) -> ImportReport:
    """Publish every row through `sink` (None: only check them). Raises PublishError when the
    broker stops acknowledging; rows before that one are published, the rest are not."""
    report = ImportReport(file=file_name)
    received_at = datetime.now(UTC)
    for row in rows:
        report.rows += 1
        outcome = sheet.row_intake(row, file_name=file_name, timezone_name=timezone_name, received_at=received_at)
        if isinstance(outcome, Refusal):
            report.invalid.append((row.line, outcome.rejection.reason))
            if sink is not None:
                await sink.refuse("store", outcome)
            continue
        if sink is not None:
            await sink.accept(outcome)
        report.published += 1
        report.actions += len(outcome.actions)
        report.by_channel[outcome.channel] = report.by_channel.get(outcome.channel, 0) + 1
    return report


def read_rows(path: Path, sheet_name: str | None = None) -> list[sheet.SheetRow]:
    """Raises sheet.SheetError when the file as a whole cannot be read."""
    return sheet.read_sheet(path, sheet_name)
