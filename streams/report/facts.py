"""Compact per-ticket facts, folded from the topics' records as they are read.

Nothing keeps a raw record: each record updates the few fields of its ticket's `TicketFacts`
(or the latest revision of an `sla.windows` window) and is dropped. Folding is idempotent
where the topics may redeliver (a repeated event sets the same field again).

Tickets belong to the period they were submitted in (0 = the reported period, 1 = the
previous period of the same length); records about tickets submitted outside both are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

CURRENT, PREVIOUS = 0, 1


def epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class TicketFacts:
    __slots__ = (
        "ticket_id", "period", "submitted", "channel", "type", "priority", "grade", "aspects", "repeat",
        "department", "cc", "transferred", "first_response_at", "first_response_elapsed",
        "first_response_within", "resolved_at", "resolution_elapsed", "resolution_within", "resolutions",
        "breaches", "escalation_level", "reopened", "csat", "nps", "answered_at", "survey_due",
    )  # fmt: skip

    def __init__(self, ticket_id: str, period: int, submitted: float, channel: str, type_: str, priority: str,
                 grade: int | None, aspects: tuple[str, ...], repeat: bool) -> None:  # fmt: skip
        self.ticket_id = ticket_id
        self.period = period
        self.submitted = submitted
        self.channel = channel
        self.type = type_
        self.priority = priority
        self.grade = grade
        self.aspects = aspects
        self.repeat = repeat
        self.department: str | None = None
        self.cc = 0
        self.transferred = False
        self.first_response_at: float | None = None
        self.first_response_elapsed: float | None = None
        self.first_response_within: bool | None = None
        self.resolved_at: float | None = None  # the first resolution
        self.resolution_elapsed: float | None = None
        self.resolution_within: bool | None = None
        self.resolutions = 0  # resolution cycles fulfilled (a reopened ticket resolved again: 2)
        # breached targets: (metric, cycle) -> [due_at, fulfilled_at or None]
        self.breaches: dict[tuple[str, int], list] | None = None
        self.escalation_level = 0
        self.reopened = 0  # resolution cycles started after the first
        self.csat: int | None = None
        self.nps: int | None = None
        self.answered_at: float | None = None
        self.survey_due = False


@dataclass
class Counts:
    """What was read, per topic (records seen, and records that were about a ticket of a period)."""

    read: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0

    def add(self, topic: str, used: bool) -> None:
        self.read[topic] = self.read.get(topic, 0) + 1
        if used:
            self.used[topic] = self.used.get(topic, 0) + 1


# sla.events kinds the report does not need: recognised in the raw bytes, never parsed.
_SKIPPED_SLA_KINDS = (b'"sla.warning"', b'"sla.paused"', b'"sla.resumed"')


class Folder:
    """Folds records of the topics into per-ticket facts for two consecutive periods."""

    def __init__(self, current: tuple[float, float], previous: tuple[float, float]) -> None:
        self.bounds = (current, previous)
        self.tickets: dict[str, TicketFacts] = {}
        self.windows: dict[tuple, dict[str, Any]] = {}
        self.counts = Counts()
        self.duplicates = 0  # requests.classified records for a ticket already seen
        self.last_moment = 0.0  # the latest event time seen (how late an open breach is, at the end)

    def period_of(self, moment: float) -> int | None:
        for index, (start, end) in enumerate(self.bounds):
            if start <= moment < end:
                return index
        return None

    # -- requests.classified ------------------------------------------------------------------

    def classified(self, raw: bytes) -> bool:
        document = orjson.loads(raw)
        request, classification = document["request"], document["classification"]
        submitted = epoch(request["submitted_at"])
        period = self.period_of(submitted)
        if period is None:
            return False
        ticket_id = request["ticket_id"]
        if ticket_id in self.tickets:
            self.duplicates += 1
            return True
        self.tickets[ticket_id] = TicketFacts(
            ticket_id, period, submitted, request["channel"], classification["type"], classification["urgency"],
            classification.get("complaint_grade"), tuple(classification.get("aspects") or ()),
            bool(classification.get("repeat_of")),
        )  # fmt: skip
        return True

    # -- dept.<department> --------------------------------------------------------------------

    def routed(self, raw: bytes) -> bool:
        data = orjson.loads(raw)["data"]
        ticket = self.tickets.get(data["ticket_id"])
        if ticket is None:
            return False
        role = data.get("role")
        if role == "owner":
            ticket.department = data["department"]
        elif role == "cc":
            ticket.cc += 1
        elif role == "transfer":
            ticket.transferred = True
        if ticket.department is None and data.get("owner_department"):
            ticket.department = data["owner_department"]
        return True

    # -- sla.events -----------------------------------------------------------------------------

    def sla_event(self, raw: bytes) -> bool:
        head = raw[:160]
        for skipped in _SKIPPED_SLA_KINDS:
            if skipped in head:
                return False
        if b'"sla.activated"' in head and b'"cycle":1,' in raw:
            return False  # a first cycle starting says nothing the other events do not
        event = orjson.loads(raw)
        data = event["data"]
        ticket = self.tickets.get(data["ticket_id"])
        if ticket is None:
            return False
        kind = event["type"][4:]
        metric, cycle = data["metric"], data.get("cycle") or 1
        at = epoch(data.get("at"))
        if at is not None and at > self.last_moment:
            self.last_moment = at
        if ticket.department is None and data.get("department"):
            ticket.department = data["department"]
        if kind == "fulfilled":
            elapsed, within = data.get("elapsed_seconds"), data.get("within_target")
            if metric == "first_response" and cycle == 1:
                ticket.first_response_at, ticket.first_response_elapsed = at, elapsed
                ticket.first_response_within = within
            elif metric == "resolution":
                if cycle == 1:
                    ticket.resolved_at, ticket.resolution_elapsed, ticket.resolution_within = at, elapsed, within
                ticket.resolutions = max(ticket.resolutions, cycle)
            if ticket.breaches and (metric, cycle) in ticket.breaches:
                ticket.breaches[(metric, cycle)][1] = at
        elif kind == "breached":
            if ticket.breaches is None:
                ticket.breaches = {}
            entry = ticket.breaches.setdefault((metric, cycle), [epoch(data.get("due_at")), None])
            entry[0] = epoch(data.get("due_at")) or entry[0]
        elif kind == "escalated":
            ticket.escalation_level = max(ticket.escalation_level, int(data.get("level") or 1))
        elif kind == "activated" and metric == "resolution" and cycle > 1 and not data.get("repair"):
            ticket.reopened = max(ticket.reopened, cycle - 1)
        return True

    # -- sla.windows ----------------------------------------------------------------------------

    def window(self, raw: bytes) -> bool:
        data = orjson.loads(raw)["data"]
        if data.get("size") != "day":
            return False
        start = epoch(data["start"])
        period = self.period_of(start)
        if period is None:
            return False
        key = (period, start, data["department"], data["channel"], data["priority"])
        known = self.windows.get(key)
        if known is None or data.get("revision", 0) >= known.get("revision", 0):
            data["start_epoch"] = start
            self.windows[key] = data
        return True

    # -- feedback and followups -------------------------------------------------------------------

    def feedback(self, raw: bytes) -> bool:
        answer = orjson.loads(raw)
        ticket = self.tickets.get(answer.get("ticket_id") or "")
        if ticket is None:
            return False
        answered = epoch(answer.get("answered_at")) or 0.0
        if ticket.answered_at is not None and answered < ticket.answered_at:
            return True  # an older answer than the one kept
        ticket.answered_at = answered
        csat, nps = answer.get("csat"), answer.get("nps")
        if isinstance(csat, int) and 1 <= csat <= 5:
            ticket.csat = csat
        if isinstance(nps, int) and 0 <= nps <= 10:
            ticket.nps = nps
        return True

    def followup(self, raw: bytes) -> bool:
        event = orjson.loads(raw)
        ticket = self.tickets.get((event.get("data") or {}).get("ticket_id") or event.get("subject") or "")
        if ticket is None:
            return False
        if event.get("type") == "followup.survey_due":
            ticket.survey_due = True
        return True
