"""faust agents: thin loops that feed records to the stages in streams/stages.py and send
what comes back. Importing this package registers every agent and timer with the app."""

from streams.agents import classify, identity, lifecycle, normalize, windows  # noqa: F401

__all__ = ["classify", "identity", "lifecycle", "normalize", "windows"]
