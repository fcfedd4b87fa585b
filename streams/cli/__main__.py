"""`python -m streams.cli`: the `ticketflow` command."""

from streams.cli import main

main()
