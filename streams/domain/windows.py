"""Windowed SLA statistics: tumbling hour and day windows per department × channel × priority.

The lifecycle turns ticket outcomes into small *facts* (a ticket received, a first response
given, a ticket resolved, a target breached); each fact counts in the hour window and the
day window (days start at local midnight of the reporting time zone) that contain the moment
it is about. A window holds counts and a histogram of first-response times, from which the
median and p90 are read (±12 % — one bucket of the log-scale histogram).

Pure: facts and aggregates are plain dicts, ready for JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SIZES = ("hour", "day")
FACT_KINDS = ("received", "responded", "resolved", "breached")
# Log-scale buckets for response times: bucket i holds [RATIO**i, RATIO**(i+1)) seconds.
RATIO = 1.25
_LOG_RATIO = math.log(RATIO)


@dataclass(frozen=True)
class WindowKey:
    size: str
    start: float
    department: str
    channel: str
    priority: str

    def encode(self) -> str:
        return f"{self.size}|{self.start:.0f}|{self.department}|{self.channel}|{self.priority}"

    @classmethod
    def decode(cls, text: str) -> WindowKey:
        size, start, department, channel, priority = text.split("|")
        return cls(size, float(start), department, channel, priority)

    def end(self, zone: ZoneInfo) -> float:
        if self.size == "hour":
            return self.start + 3600
        local = datetime.fromtimestamp(self.start, zone)
        return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def fact(
    kind: str,
    *,
    at: float,
    department: str,
    channel: str,
    priority: str,
    metric: str | None = None,
    within_target: bool | None = None,
    elapsed: float | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "kind": kind,
        "at": at,
        "department": department,
        "channel": channel,
        "priority": priority,
    }
    if metric is not None:
        document["metric"] = metric
    if within_target is not None:
        document["within_target"] = within_target
    if elapsed is not None:
        document["elapsed"] = elapsed
    return document


def window_keys(document: dict[str, Any], zone: ZoneInfo) -> list[WindowKey]:
    at = float(document["at"])
    hour = math.floor(at / 3600) * 3600
    local = datetime.fromtimestamp(at, zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    parts = (document["department"], document["channel"], document["priority"])
    return [WindowKey("hour", hour, *parts), WindowKey("day", day, *parts)]


def empty() -> dict[str, Any]:
    return {
        "received": 0,
        "responded": 0,
        "responded_in_time": 0,
        "resolved": 0,
        "resolved_in_time": 0,
        "breached": {},
        "response_histogram": {},
        "emitted_revision": 0,
        "revision": 0,
    }


def _bucket(seconds: float) -> int:
    return 0 if seconds < 1 else int(math.log(seconds) / _LOG_RATIO) + 1


def add(aggregate: dict[str, Any], document: dict[str, Any]) -> None:
    """Count one fact into a window aggregate (in place)."""
    kind = document["kind"]
    if kind == "received":
        aggregate["received"] += 1
    elif kind == "responded":
        aggregate["responded"] += 1
        aggregate["responded_in_time"] += 1 if document.get("within_target") else 0
        bucket = str(_bucket(float(document.get("elapsed") or 0.0)))
        histogram = aggregate["response_histogram"]
        histogram[bucket] = histogram.get(bucket, 0) + 1
    elif kind == "resolved":
        aggregate["resolved"] += 1
        aggregate["resolved_in_time"] += 1 if document.get("within_target") else 0
    elif kind == "breached":
        metric = document.get("metric") or "unknown"
        aggregate["breached"][metric] = aggregate["breached"].get(metric, 0) + 1
    aggregate["revision"] += 1


def quantile(histogram: dict[str, int], q: float) -> float | None:
    """Estimated q-quantile (seconds) from the log-scale histogram."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(histogram, key=int):
        count = histogram[bucket]
        if seen + count >= rank:
            index = int(bucket)
            if index == 0:
                return 0.5
            low, high = RATIO ** (index - 1), RATIO**index
            return round(low + (high - low) * ((rank - seen) / count), 3)
        seen += count
    return None


def summary(key: WindowKey, aggregate: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The window as reports and sla.windows show it."""
    responded, resolved = aggregate["responded"], aggregate["resolved"]
    return {
        "department": key.department,
        "channel": key.channel,
        "priority": key.priority,
        "size": key.size,
        "start": key.start,
        "end": key.end(zone),
        "received": aggregate["received"],
        "responded": responded,
        "responded_in_time": aggregate["responded_in_time"],
        "resolved": resolved,
        "resolved_in_time": aggregate["resolved_in_time"],
        "breached": dict(aggregate["breached"]),
        "first_response_compliance": round(aggregate["responded_in_time"] / responded, 4) if responded else None,
        "resolution_compliance": round(aggregate["resolved_in_time"] / resolved, 4) if resolved else None,
        "first_response_median_seconds": quantile(aggregate["response_histogram"], 0.5),
        "first_response_p90_seconds": quantile(aggregate["response_histogram"], 0.9),
        "revision": aggregate["revision"],
    }
