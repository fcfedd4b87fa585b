"""The board's figures from per-partition parts (docs/board.md).

A worker reports, per partition it owns, what `floor.FloorTracker.part` keeps (tickets) and
today's counts from its SLA day windows (compliance). `merge` joins the reports of every
worker — each partition counted once, partitions nobody reported named — into what the page
shows. Pure: plain dicts in and out, ready for JSON.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from streams.board.floor import COUNTS

PRIORITY_ORDER = ("urgent", "high", "normal", "low")
COMPLIANCE_COUNTS = ("received", "responded", "responded_in_time", "resolved", "resolved_in_time", "breached")
OVERDUE_SHOWN = 20


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_start(now: float, zone: ZoneInfo) -> float:
    """Local midnight (in the reporting time zone) of the day containing `now`: the start of
    today's day windows."""
    local = datetime.fromtimestamp(now, zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def local_day(now: float, zone: ZoneInfo) -> str:
    """Today's date in the reporting time zone (YYYY-MM-DD)."""
    return datetime.fromtimestamp(now, zone).date().isoformat()


def compliance_rows(windows: Iterable[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Today's counts per department × priority, summed over channels, from day-window
    aggregates given as (department, priority, aggregate)."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for department, priority, aggregate in windows:
        row = rows.setdefault((department, priority), dict.fromkeys(COMPLIANCE_COUNTS, 0))
        for name in COMPLIANCE_COUNTS[:-1]:
            row[name] += int(aggregate.get(name, 0))
        row["breached"] += sum(int(count) for count in (aggregate.get("breached") or {}).values())
    return [
        {"department": department, "priority": priority, **counts}
        for (department, priority), counts in sorted(rows.items())
    ]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _with_ratios(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "first_response_compliance": _ratio(row["responded_in_time"], row["responded"]),
        "resolution_compliance": _ratio(row["resolved_in_time"], row["resolved"]),
    }


def _priority_key(priority: str) -> tuple[int, str]:
    return (PRIORITY_ORDER.index(priority), "") if priority in PRIORITY_ORDER else (len(PRIORITY_ORDER), priority)


def _group_key(row: dict[str, Any]) -> tuple:
    return (row["department"], _priority_key(row["priority"]))


def _oldest(current: dict | None, candidate: dict | None) -> dict | None:
    if candidate is None:
        return current
    if current is None or (candidate["since"], candidate["ticket_id"]) < (current["since"], current["ticket_id"]):
        return dict(candidate)
    return current


def _aged(oldest: dict | None, now: float) -> dict | None:
    if oldest is None:
        return None
    return {
        "ticket_id": oldest["ticket_id"],
        "since": iso(oldest["since"]),
        "age_seconds": round(max(0.0, now - oldest["since"]), 1),
    }


def _pick_parts(reports: list[dict], field: str) -> tuple[dict[int, Any], list[int]]:
    """Each partition's part from the first report holding it; the partitions held twice."""
    parts: dict[int, Any] = {}
    twice = set()
    for report in reports:
        for partition, part in (report.get(field) or {}).items():
            number = int(partition)
            if number in parts:
                twice.add(number)
                continue
            parts[number] = part
    return parts, sorted(twice)


def merge(
    reports: list[dict[str, Any]],
    now: float,
    *,
    overdue_shown: int = OVERDUE_SHOWN,
    sources: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The board from the workers' reports (see `report`)."""
    tickets, tickets_twice = _pick_parts(reports, "tickets")
    windows, windows_twice = _pick_parts(reports, "windows")
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    overdue: list[dict[str, Any]] = []
    for part in tickets.values():
        for row in part["groups"]:
            merged = groups.setdefault(
                (row["department"], row["priority"]),
                {
                    "department": row["department"],
                    "priority": row["priority"],
                    **dict.fromkeys(COUNTS, 0),
                    "oldest_waiting": None,
                },
            )
            for name in COUNTS:
                merged[name] += int(row.get(name, 0))
            merged["oldest_waiting"] = _oldest(merged["oldest_waiting"], row.get("oldest_waiting"))
        overdue.extend(part["overdue_tickets"])
    totals: dict[str, Any] = {**dict.fromkeys(COUNTS, 0), "oldest_waiting": None}
    for row in groups.values():
        for name in COUNTS:
            totals[name] += row[name]
        totals["oldest_waiting"] = _oldest(totals["oldest_waiting"], row["oldest_waiting"])
    longest = heapq.nsmallest(overdue_shown, overdue, key=lambda item: (item["overdue_since"], item["ticket_id"]))
    compliance: dict[tuple[str, str], dict[str, Any]] = {}
    for rows in windows.values():
        for row in rows:
            merged = compliance.setdefault(
                (row["department"], row["priority"]),
                {"department": row["department"], "priority": row["priority"], **dict.fromkeys(COMPLIANCE_COUNTS, 0)},
            )
            for name in COMPLIANCE_COUNTS:
                merged[name] += int(row.get(name, 0))
    compliance_totals = {name: sum(row[name] for row in compliance.values()) for name in COMPLIANCE_COUNTS}
    counts = {report.get("partition_count") for report in reports if report.get("partition_count")}
    partition_count = max(counts) if counts else 0
    first = reports[0] if reports else {}
    return {
        "generated_at": iso(now),
        "day": first.get("day"),
        "timezone": first.get("timezone"),
        "totals": {**totals, "oldest_waiting": _aged(totals["oldest_waiting"], now), "overdue_shown": len(longest)},
        "groups": [
            {**row, "oldest_waiting": _aged(row["oldest_waiting"], now)}
            for row in sorted(groups.values(), key=_group_key)
        ],
        "overdue_tickets": [
            {
                **item,
                "overdue_since": iso(item["overdue_since"]),
                "overdue_seconds": round(max(0.0, now - item["overdue_since"]), 1),
            }
            for item in longest
        ],
        "compliance": {
            "totals": _with_ratios(compliance_totals),
            "rows": [_with_ratios(row) for row in sorted(compliance.values(), key=_group_key)],
        },
        "coverage": {
            "partition_count": partition_count,
            "missing_ticket_partitions": sorted(set(range(partition_count)) - set(tickets)),
            "missing_window_partitions": sorted(set(range(partition_count)) - set(windows)),
            "reported_twice": sorted(set(tickets_twice) | set(windows_twice)),
            "complete": bool(partition_count)
            and len(tickets) == len(windows) == partition_count
            and not tickets_twice
            and not windows_twice,
            "sources": sources or [],
        },
    }


def report(
    *, tickets: dict[int, dict], windows: dict[int, list[dict]], partition_count: int, day: str, timezone_name: str
) -> dict[str, Any]:
    """One worker's report: its owned partitions' parts, keyed by partition number (as text, for JSON)."""
    return {
        "partition_count": partition_count,
        "day": day,
        "timezone": timezone_name,
        "tickets": {str(partition): part for partition, part in sorted(tickets.items())},
        "windows": {str(partition): rows for partition, rows in sorted(windows.items())},
    }
