"""The `ticketflow` command line: one group, its commands registered explicitly from their modules."""

from __future__ import annotations

import click

from streams.cli import classification, contract, intake, processes, sla, stack
from streams.report.cli import report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Ticketflow: customer requests from every channel → routed tickets with SLA clocks."""


for command in (
    processes.broker,
    processes.topics,
    processes.worker,
    processes.gateway,
    processes.imap_poll,
    stack.up,
    stack.demo,
    intake.import_sheet,
    classification.classify,
    classification.train,
    classification.import_data,
    classification.evaluate_command,
    sla.sla,
    contract.contract,
    report,
):
    main.add_command(command)
