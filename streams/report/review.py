"""The review: everything the report shows, assembled from the folded facts (pure)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from streams.report import kpis as kpi_math
from streams.report.facts import CURRENT, PREVIOUS, Folder, TicketFacts
from streams.report.targets import KPIS, KpiFile

LIST_LIMIT = 200  # breached / reopened tickets listed in full up to this many (the total is always shown)
PARETO_LINE = 0.8


@dataclass(frozen=True)
class Period:
    first: date  # first day, inclusive
    last: date  # last day, inclusive
    zone: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self) -> tuple[float, float]:
        tz = ZoneInfo(self.zone)
        start = datetime(self.first.year, self.first.month, self.first.day, tzinfo=tz)
        end = datetime(self.last.year, self.last.month, self.last.day, tzinfo=tz) + timedelta(days=1)
        return start.timestamp(), end.timestamp()

    def previous(self) -> Period:
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.zone)

    def day_starts(self) -> list[float]:
        tz = ZoneInfo(self.zone)
        return [
            datetime.combine(self.first + timedelta(days=i), datetime.min.time(), tz).timestamp()
            for i in range(self.days)
        ]

    def __str__(self) -> str:
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


@dataclass
class Review:
    period: Period
    previous: Period
    kpi_file: KpiFile
    generated_at: str
    as_of: float | None
    counts: dict[str, int]
    counts_previous: dict[str, int]
    kpis: dict[str, float | None]
    kpis_previous: dict[str, float | None]
    targets: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    types: list[dict[str, Any]]
    pareto_types: list[dict[str, Any]]
    pareto_causes: list[dict[str, Any]]
    grades: dict[str, int]
    compliance: list[dict[str, Any]]
    compliance_departments: list[dict[str, Any]]
    compliance_worst: list[dict[str, Any]]
    compliance_source: str
    daily: list[dict[str, Any]]
    breached: list[dict[str, Any]]
    breached_total: int
    reopened: list[dict[str, Any]]
    reopened_total: int
    read: dict[str, int]
    notes: list[str] = field(default_factory=list)


def pareto(counter: dict[str, int]) -> list[dict[str, Any]]:
    """Items by count, descending, with the cumulative share and whether they make the first 80 %."""
    total = sum(counter.values())
    rows, running = [], 0
    for label, count in sorted(counter.items(), key=lambda item: (-item[1], item[0])):
        before = running / total if total else 0.0
        running += count
        rows.append(
            {
                "label": label,
                "count": count,
                "share": count / total if total else 0.0,
                "cumulative": running / total if total else 0.0,
                "vital": before < PARETO_LINE,
            }
        )
    return rows


def _targets(
    kpi_file: KpiFile, current: list[TicketFacts], previous: list[TicketFacts], overall: dict, overall_previous: dict
) -> list[dict[str, Any]]:
    rows = []
    for target in kpi_file.targets:
        if target.channel or target.type:

            def keep(t: TicketFacts) -> bool:
                return (target.channel is None or t.channel == target.channel) and (
                    target.type is None or t.type == target.type
                )

            value = kpi_math.compute([t for t in current if keep(t)])[target.kpi]
            before = kpi_math.compute([t for t in previous if keep(t)])[target.kpi]
        else:
            value, before = overall[target.kpi], overall_previous[target.kpi]
        bound, number = target.bound
        rows.append(
            {
                "kpi": target.kpi,
                "label": KPIS[target.kpi].label,
                "unit": KPIS[target.kpi].unit,
                "better": KPIS[target.kpi].better,
                "scope": target.scope,
                "bound": bound,
                "target": number,
                "value": value,
                "previous": before,
                "met": target.met(value),
                "source": target.source,
            }
        )
    return rows


def _compliance_from_windows(folder: Folder) -> list[dict[str, Any]]:
    rows: dict[tuple, dict[str, Any]] = {}
    for (period, _start, department, channel, priority), window in folder.windows.items():
        if period != CURRENT:
            continue
        row = rows.setdefault(
            (department, channel, priority),
            {
                "department": department,
                "channel": channel,
                "priority": priority,
                "received": 0,
                "responded": 0,
                "responded_in_time": 0,
                "resolved": 0,
                "resolved_in_time": 0,
                "breached": 0,
            },
        )
        for name in ("received", "responded", "responded_in_time", "resolved", "resolved_in_time"):
            row[name] += int(window.get(name) or 0)
        row["breached"] += sum(int(v) for v in (window.get("breached") or {}).values())
    return _finish_compliance(rows)


def _by_department(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    totals: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            (row["department"], "all", "all"),
            {
                "department": row["department"],
                "channel": "all",
                "priority": "all",
                "received": 0,
                "responded": 0,
                "responded_in_time": 0,
                "resolved": 0,
                "resolved_in_time": 0,
                "breached": 0,
            },
        )
        for name in ("received", "responded", "responded_in_time", "resolved", "resolved_in_time", "breached"):
            total[name] += row[name]
    return _finish_compliance(totals)


def _worst(rows: list[dict[str, Any]], limit: int = 12, least: int = 20) -> list[dict[str, Any]]:
    """The combinations furthest below target (at least `least` responses or resolutions)."""

    def score(row: dict[str, Any]) -> float:
        rates = [
            rate
            for rate, count in (
                (row["first_response_compliance"], row["responded"]),
                (row["resolution_compliance"], row["resolved"]),
            )
            if rate is not None and count >= least
        ]
        return min(rates) if rates else 2.0

    return [row for row in sorted(rows, key=score) if score(row) < 2.0][:limit]


def _compliance_from_facts(tickets: list[TicketFacts]) -> list[dict[str, Any]]:
    rows: dict[tuple, dict[str, Any]] = {}
    for t in tickets:
        key = (t.department or "unknown", t.channel, t.priority)
        row = rows.setdefault(
            key,
            {
                "department": key[0],
                "channel": key[1],
                "priority": key[2],
                "received": 0,
                "responded": 0,
                "responded_in_time": 0,
                "resolved": 0,
                "resolved_in_time": 0,
                "breached": 0,
            },
        )
        row["received"] += 1
        if t.first_response_within is not None:
            row["responded"] += 1
            row["responded_in_time"] += bool(t.first_response_within)
        if t.resolution_within is not None:
            row["resolved"] += 1
            row["resolved_in_time"] += bool(t.resolution_within)
        row["breached"] += len(t.breaches or ())
    return _finish_compliance(rows)


def _finish_compliance(rows: dict[tuple, dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows.values():
        row["first_response_compliance"] = kpi_math.ratio(row["responded_in_time"], row["responded"])
        row["resolution_compliance"] = kpi_math.ratio(row["resolved_in_time"], row["resolved"])
    return sorted(rows.values(), key=lambda r: (r["department"], r["channel"], r["priority"]))


def _daily(period: Period, tickets: list[TicketFacts]) -> list[dict[str, Any]]:
    starts = period.day_starts()
    days = [
        {
            "date": (period.first + timedelta(days=i)).isoformat(),
            "received": 0,
            "complaints": 0,
            "resolved": 0,
            "breached": 0,
            "first_response_sum": 0.0,
            "first_responses": 0,
            "csat_good": 0,
            "csat_answers": 0,
        }
        for i in range(len(starts))
    ]
    for t in tickets:
        day = days[max(0, bisect.bisect_right(starts, t.submitted) - 1)]
        day["received"] += 1
        day["complaints"] += t.type == "complaint"
        day["resolved"] += t.resolved_at is not None or t.resolutions > 0
        day["breached"] += bool(t.breaches)
        if t.first_response_elapsed is not None:
            day["first_response_sum"] += t.first_response_elapsed
            day["first_responses"] += 1
        if t.csat is not None:
            day["csat_answers"] += 1
            day["csat_good"] += t.csat >= 4
    for day in days:
        day["first_response_mean"] = (
            (day["first_response_sum"] / day["first_responses"]) if day["first_responses"] else None
        )
        day["csat"] = kpi_math.ratio(day["csat_good"], day["csat_answers"])
        day["breach_rate"] = kpi_math.ratio(day["breached"], day["received"])
    return days


def _breached_rows(tickets: list[TicketFacts], as_of: float | None) -> list[dict[str, Any]]:
    rows = []
    for t in tickets:
        if not t.breaches:
            continue
        for (metric, cycle), (due, done) in t.breaches.items():
            end, status = (done, "done late") if done is not None else (as_of, "still open")
            if done is None and metric != "resolution" and t.resolved_at is not None:
                end, status = t.resolved_at, "resolved without it"  # resolving stops every clock
            rows.append(
                {
                    "ticket_id": t.ticket_id,
                    "department": t.department or "unknown",
                    "channel": t.channel,
                    "priority": t.priority,
                    "type": t.type,
                    "metric": metric,
                    "cycle": cycle,
                    "due": due,
                    "late_seconds": (end - due) if (end is not None and due is not None) else None,
                    "status": status,
                    "escalation_level": t.escalation_level,
                }
            )
    rows.sort(key=lambda r: (-(r["late_seconds"] or 0.0), r["ticket_id"], r["metric"]))
    return rows


def build(
    folder: Folder, period: Period, kpi_file: KpiFile, *, generated_at: str, missing_topics: list[str] = ()
) -> Review:  # type: ignore[assignment]
    current = [t for t in folder.tickets.values() if t.period == CURRENT]
    previous = [t for t in folder.tickets.values() if t.period == PREVIOUS]
    overall, overall_previous = kpi_math.compute(current), kpi_math.compute(previous)
    as_of = folder.last_moment or None
    notes = []
    for topic in missing_topics:
        notes.append(f"topic {topic} does not exist on the broker: its figures are empty")
    counts = kpi_math.counts(current)
    if counts["csat_answers"] == 0 and counts["nps_answers"] == 0:
        notes.append("no survey answers (feedback) for this period's tickets: CSAT and NPS are not available")
    windows = _compliance_from_windows(folder)
    if windows:
        compliance, source = windows, "sla.windows (closed day windows, counted when each event happened)"
        covered = len({key[1] for key in folder.windows if key[0] == CURRENT})
        if covered < period.days:
            notes.append(
                f"sla.windows has closed day windows for {covered} of the period's {period.days} days: "
                "the compliance table covers those days only"
            )
    else:
        compliance, source = _compliance_from_facts(current), "ticket facts (no closed sla.windows for the period)"
        notes.append("no closed day windows on sla.windows for this period: compliance is computed from sla.events")
    channel_rates = kpi_math.channel_answer_rates(current)
    channels = []
    for channel, (done, total) in sorted(channel_rates.items(), key=lambda item: -item[1][1]):
        subset = [t for t in current if t.channel == channel]
        walls = sorted(w for w in (kpi_math.wall_response(t) for t in subset) if w is not None)
        channels.append(
            {
                "channel": channel,
                "requests": total,
                "answered": done,
                "answer_rate": done / total,
                "first_response_median_wall": kpi_math.quantile(walls, 0.5),
                "within_10min": kpi_math.ratio(sum(1 for w in walls if w <= 600), total),
                "within_30min": kpi_math.ratio(sum(1 for w in walls if w <= 1800), total),
            }
        )
    type_counts: dict[str, int] = {}
    for t in current:
        type_counts[t.type] = type_counts.get(t.type, 0) + 1
    satisfaction = kpi_math.csat_by_type(current)
    types = []
    for kind, total in sorted(type_counts.items(), key=lambda item: -item[1]):
        good, answers = satisfaction.get(kind, (0, 0))
        subset = kpi_math.compute([t for t in current if t.type == kind])
        types.append(
            {
                "type": kind,
                "requests": total,
                "share": total / len(current),
                "csat": kpi_math.ratio(good, answers),
                "csat_answers": answers,
                "resolution_rate": subset["resolution_rate"],
                "first_response_compliance": subset["first_response_compliance"],
                "breach_rate": subset["breach_rate"],
            }
        )
    causes: dict[str, int] = {}
    grades: dict[str, int] = {}
    for t in current:
        if t.type != "complaint":
            continue
        for aspect in t.aspects or ("(none)",):
            causes[aspect] = causes.get(aspect, 0) + 1
        grade = f"grade {t.grade}" if t.grade else "ungraded"
        grades[grade] = grades.get(grade, 0) + 1
    breached = _breached_rows(current, as_of)
    reopened = sorted(
        (
            {
                "ticket_id": t.ticket_id,
                "department": t.department or "unknown",
                "type": t.type,
                "channel": t.channel,
                "times": t.reopened,
                "csat": t.csat,
            }
            for t in current
            if t.reopened
        ),
        key=lambda r: (-r["times"], r["ticket_id"]),
    )
    return Review(
        period=period,
        previous=period.previous(),
        kpi_file=kpi_file,
        generated_at=generated_at,
        as_of=as_of,
        counts=counts,
        counts_previous=kpi_math.counts(previous),
        kpis=overall,
        kpis_previous=overall_previous,
        targets=_targets(kpi_file, current, previous, overall, overall_previous),
        channels=channels,
        types=types,
        pareto_types=pareto(type_counts),
        pareto_causes=pareto(causes),
        grades=dict(sorted(grades.items())),
        compliance=compliance,
        compliance_departments=_by_department(compliance),
        compliance_worst=_worst(compliance),
        compliance_source=source,
        daily=_daily(period, current),
        breached=breached[:LIST_LIMIT],
        breached_total=len(breached),
        reopened=reopened[:LIST_LIMIT],
        reopened_total=len(reopened),
        read=dict(folder.counts.read),
        notes=notes,
    )
