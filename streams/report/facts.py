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
from sys import intern  # channels, types, departments: one string each, not one per ticket
from typing import Any

import orjson

CURRENT, PREVIOUS = 0, 1


def epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text).timestamp()  # Python 3.11 reads the "Z" of UTC itself


class TicketFacts:
    __slots__ = (
        "ticket_id",
        "period",
        "submitted",
        "channel",
        "type",
        "priority",
        "grade",
        "aspects",
        "repeat",
        "department",
        "cc",
        "transferred",
        "first_response_at",
        "first_response_elapsed",
        "first_response_within",
        "resolved_at",
        "resolution_elapsed",
        "resolution_within",
        "resolutions",
        "breaches",
        "escalation_level",
        "reopened",
        "csat",
        "nps",
        "answered_at",
        "survey_due",
    )

    def __init__(
        self,
        ticket_id: str,
        period: int,
        submitted: float,
        channel: str,
        type_: str,
        priority: str,
        grade: int | None,
        aspects: tuple[str, ...],
        repeat: bool,
    ) -> None:
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


# sla.events the report does not need are recognised from the head of their bytes (kind, metric,
# cycle) and never parsed: warnings, pauses, metrics it does not report, and clocks starting
# (except a later cycle of the resolution clock: a reopening).
_NEEDED_KINDS = frozenset((b"fulfilled", b"breached", b"escalated", b"activated"))
_TYPE, _METRIC = b'"type":"sla.', b'"metric":"'
_NEEDED_METRICS = frozenset((b"first_response", b"resolution"))
_DEPARTMENT = b'"department":"'


def _sla_head(raw: bytes) -> tuple[bytes, bytes, bool] | None:
    """(kind, metric, first cycle?) from the bytes of an sla.events CloudEvent, None when not found."""
    at = raw.find(_TYPE, 0, 300)
    if at < 0:
        return None
    at += len(_TYPE)
    end = raw.find(b'"', at)
    where = raw.find(_METRIC, end, end + 300)
    if end < 0 or where < 0:
        return None
    where += len(_METRIC)
    stop = raw.find(b'"', where)
    return raw[at:end], raw[where:stop], raw.startswith(b',"cycle":1,', stop + 1)


class Folder:
    """Folds records of the topics into per-ticket facts for two consecutive periods.

    Each handler takes a record's key and value and says whether the record was about a ticket
    of the periods. Records keyed by ticket id are looked up by their key before anything is
    parsed; what the report does not need is recognised in the bytes and not parsed at all."""

    def __init__(self, current: tuple[float, float], previous: tuple[float, float]) -> None:
        self.bounds = (current, previous)
        self.tickets: dict[str, TicketFacts] = {}
        self.windows: dict[tuple, dict[str, Any]] = {}
        self.counts = Counts()
        self.duplicates = 0  # requests.classified records for a ticket already seen
        self._last = ""  # the latest event time seen (ISO 8601, UTC: ordered as text)

    @property
    def last_moment(self) -> float:
        """The latest event time seen: how late a breach still open at the end is."""
        return epoch(self._last) or 0.0

    def period_of(self, moment: float) -> int | None:
        (start, end), (previous_start, previous_end) = self.bounds
        if start <= moment < end:
            return CURRENT
        if previous_start <= moment < previous_end:
            return PREVIOUS
        return None

    def _ticket(self, key: bytes | None, ticket_id: str | None = None) -> TicketFacts | None:
        if ticket_id is None:
            if key is None:
                return None
            ticket_id = key.decode()
        return self.tickets.get(ticket_id)

    # -- requests.classified ------------------------------------------------------------------

    def classified(self, key: bytes | None, raw: bytes) -> bool:
        document = orjson.loads(raw)
        request, classification = document["request"], document["classification"]
        submitted = epoch(request["submitted_at"])
        period = self.period_of(submitted)  # type: ignore[arg-type]
        if period is None:
            return False
        ticket_id = request["ticket_id"]
        if ticket_id in self.tickets:
            self.duplicates += 1
            return True
        aspects = classification.get("aspects")
        self.tickets[ticket_id] = TicketFacts(
            ticket_id,
            period,
            submitted,
            intern(request["channel"]),
            intern(classification["type"]),
            intern(classification["urgency"]),
            classification.get("complaint_grade"),
            tuple(intern(aspect) for aspect in aspects) if aspects else (),
            bool(classification.get("repeat_of")),
        )
        return True

    # -- dept.<department> --------------------------------------------------------------------

    def routed(self, key: bytes | None, raw: bytes) -> bool:
        ticket = self._ticket(key)
        if ticket is None:
            data = orjson.loads(raw)["data"]  # a record not keyed by its ticket
            ticket = self._ticket(None, data["ticket_id"])
            if ticket is None:
                return False
        head = raw[:400]
        if b'"role":"owner"' in head:
            # The owner's department, read from the bytes: `department` follows `role` in the event.
            at = head.find(_DEPARTMENT, head.find(b'"role":"owner"'))
            end = head.find(b'"', at + len(_DEPARTMENT)) if at >= 0 else -1
            if end > at >= 0:
                ticket.department = intern(head[at + len(_DEPARTMENT) : end].decode())
            else:
                ticket.department = orjson.loads(raw)["data"]["department"]
        elif b'"role":"cc"' in head:
            ticket.cc += 1
        elif b'"role":"transfer"' in head:
            ticket.transferred = True
        return True

    # -- sla.events -----------------------------------------------------------------------------

    def sla_event(self, key: bytes | None, raw: bytes) -> bool:
        ticket = self._ticket(key)
        if key is not None and ticket is None:
            return False
        head = _sla_head(raw)
        if head is not None:
            kind, metric, first_cycle = head
            if kind not in _NEEDED_KINDS or metric not in _NEEDED_METRICS:
                return True
            if kind == b"activated" and (metric != b"resolution" or first_cycle):
                return True
        event = orjson.loads(raw)
        data = event["data"]
        if ticket is None:
            ticket = self._ticket(None, data["ticket_id"])
            if ticket is None:
                return False
        kind = event["type"][4:]
        metric, cycle = data["metric"], data.get("cycle") or 1
        at_text = data.get("at") or ""
        if at_text > self._last:
            self._last = at_text
        if ticket.department is None and data.get("department"):
            ticket.department = data["department"]
        if kind == "fulfilled":
            at = epoch(at_text)
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
            entry = ticket.breaches.setdefault((metric, cycle), [None, None])
            entry[0] = epoch(data.get("due_at")) or entry[0]
        elif kind == "escalated":
            ticket.escalation_level = max(ticket.escalation_level, int(data.get("level") or 1))
        elif kind == "activated" and metric == "resolution" and cycle > 1 and not data.get("repair"):
            ticket.reopened = max(ticket.reopened, cycle - 1)
        return True

    # -- sla.windows ----------------------------------------------------------------------------

    def window(self, key: bytes | None, raw: bytes) -> bool:
        data = orjson.loads(raw)["data"]
        if data.get("size") != "day":
            return False
        start = epoch(data["start"])
        period = self.period_of(start)  # type: ignore[arg-type]
        if period is None:
            return False
        window_key = (period, start, data["department"], data["channel"], data["priority"])
        known = self.windows.get(window_key)
        if known is None or data.get("revision", 0) >= known.get("revision", 0):
            data["start_epoch"] = start
            self.windows[window_key] = data
        return True

    # -- feedback and followups -------------------------------------------------------------------

    def feedback(self, key: bytes | None, raw: bytes) -> bool:
        answer = orjson.loads(raw)  # by its ticket_id field, whatever the producer keyed it by
        ticket = self._ticket(None, answer.get("ticket_id") or "")
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

    def followup(self, key: bytes | None, raw: bytes) -> bool:
        ticket = self._ticket(key)
        if ticket is None:  # another ticket's, or not keyed by ticket id: by its data
            event = orjson.loads(raw)
            ticket = self._ticket(None, (event.get("data") or {}).get("ticket_id") or event.get("subject") or "")
            if ticket is None:
                return False
        if b'"followup.survey_due"' in raw[:200]:
            ticket.survey_due = True
        return True
