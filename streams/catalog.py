"""Topic names of the public contract (docs/topics.md), with the configurable prefix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.models import CHANNELS
from streams.settings import Settings

# faust's own topics for the lifecycle app (changelogs, leader election, SLA facts).
TICKETS_TABLE = "tickets"
WINDOWS_TABLE = "sla_windows"
CUSTOMERS_TABLE = "customers"
# The contact index (contact id → customer id), a global table: one partition, every worker
# holds all of it (see streams/agents/identity.py).
CONTACT_INDEX_TABLE = "contact-index"


@dataclass(frozen=True)
class TopicCatalog:
    prefix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def raw(self, channel: str) -> str:
        return self.name(f"raw.{channel}")

    def department(self, department: str) -> str:
        return self.name(f"dept.{department}")

    @property
    def raw_topics(self) -> list[str]:
        return [self.raw(channel) for channel in CHANNELS]

    @property
    def requests_invalid(self) -> str:
        return self.name("requests.invalid")

    @property
    def requests_normalized(self) -> str:
        return self.name("requests.normalized")

    @property
    def requests_classified(self) -> str:
        return self.name("requests.classified")

    @property
    def tickets_actions(self) -> str:
        return self.name("tickets.actions")

    @property
    def customers_profiles(self) -> str:
        return self.name("customers.profiles")

    @property
    def sla_events(self) -> str:
        return self.name("sla.events")

    @property
    def sla_windows(self) -> str:
        return self.name("sla.windows")

    def public_topics(self, departments: Iterable[str]) -> list[str]:
        """Every topic in the catalog, including those later stages will produce."""
        names = [
            *self.raw_topics,
            self.requests_invalid,
            self.requests_normalized,
            self.requests_classified,
            self.tickets_actions,
            self.sla_events,
            self.name("followups"),
            self.name("feedback"),
            self.name("customers.profiles"),
            self.name("care"),
            self.name("sla.windows"),
        ]
        names.extend(self.department(department) for department in departments)
        return names


def sla_facts_topic(app_id: str) -> str:
    """Internal: SLA facts from the lifecycle to the window counts, keyed by department."""
    return f"{app_id}-sla-facts"


def internal_topics(app_id: str) -> list[tuple[str, int | None]]:
    """The app's internal topics: (name, partitions or None for 'same as the data topics')."""
    return [
        (f"{app_id}-{TICKETS_TABLE}-changelog", None),
        (f"{app_id}-{WINDOWS_TABLE}-changelog", None),
        (f"{app_id}-{CUSTOMERS_TABLE}-changelog", None),
        (sla_facts_topic(app_id), None),
        (f"{app_id}-{CONTACT_INDEX_TABLE}-changelog", 1),
        (f"{app_id}-__assignor-__leader", 1),
    ]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


_COMPACTED = {"cleanup.policy": "compact"}


def pipeline_topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic the pipeline reads or writes, with the configured partition count."""
    catalog = TopicCatalog(settings.topic_prefix)
    profiles = catalog.name("customers.profiles")
    specs = [
        TopicSpec(name, settings.partitions, _COMPACTED if name == profiles else {})
        for name in catalog.public_topics(settings.routing.departments)
    ]
    for name, count in internal_topics(settings.app_id):
        specs.append(TopicSpec(name, count or settings.partitions, _COMPACTED if name.endswith("-changelog") else {}))
    return specs
