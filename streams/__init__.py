"""Ticketflow: customer requests from every channel → tracked tickets with service-level clocks."""

__version__ = "0.1.0"
