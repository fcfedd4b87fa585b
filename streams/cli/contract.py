"""`contract`: the AsyncAPI description of the public topics (docs/topics.md#asyncapi)."""

from __future__ import annotations

from pathlib import Path

import click

from streams.contract import COMMAND, DOCUMENT, is_current, write


@click.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=DOCUMENT, show_default=True)
@click.option("--check", is_flag=True, help="Only check that the file is what the code generates now.")
def contract(output: Path, check: bool) -> None:
    """Write the AsyncAPI 3 document of every public topic, its key and its events."""
    if check:
        if not is_current(output):
            raise click.ClickException(f"{output} is out of date: run `{COMMAND}`")
        click.echo(f"{output} is current")
        return
    click.echo(f"wrote {write(output)}")
