"""How figures are written in the report (shared by the HTML and Markdown renderers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

TYPE_NAMES = {
    "inquiry": "咨询 inquiry",
    "after_sales": "售后 after-sales",
    "product_issue": "产品/技术 product issue",
    "service_request": "服务办理 service request",
    "complaint": "投诉 complaint",
    "suggestion": "建议 suggestion",
}
CHANNEL_NAMES = {
    "phone": "热线 phone",
    "app": "APP",
    "wecom": "企业微信 WeCom",
    "email": "邮件 e-mail",
    "social": "社交媒体 social",
    "webchat": "在线客服 web chat",
    "store": "门店 store",
    "vip": "VIP",
}
BOUND_SIGNS = {"at_least": "≥", "at_most": "≤", "above": ">", "below": "<"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.0f} s"
    if seconds < 3600:
        return f"{sign}{seconds / 60:.1f} min"
    if seconds < 86400 * 2:
        return f"{sign}{seconds / 3600:.1f} h"
    return f"{sign}{seconds / 86400:.1f} d"


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def value(unit: str, number: float | None) -> str:
    if number is None:
        return "–"
    if unit == "seconds":
        return duration(number)
    if unit == "rate":
        return percent(number)
    if unit == "nps":
        return f"{number:+.0f}"
    return f"{number:.2f}"


def change(unit: str, now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "–"
    delta = now - before
    if unit == "seconds":
        return ("+" if delta >= 0 else "−") + duration(abs(delta))
    if unit == "rate":
        return f"{delta * 100:+.1f} pp"
    if unit == "nps":
        return f"{round(delta):+d}"  # never "-0"
    return f"{delta:+.2f}"


def direction(better: str, now: float | None, before: float | None) -> str:
    """'better', 'worse' or 'same' against the previous period."""
    if now is None or before is None or abs(now - before) < 1e-9:
        return "same"
    return "better" if (now > before) == (better == "higher") else "worse"


def moment(epoch: float | None, zone: str) -> str:
    if epoch is None:
        return "–"
    return datetime.fromtimestamp(epoch, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def type_name(kind: str) -> str:
    return TYPE_NAMES.get(kind, kind)


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


def target_text(row: dict) -> str:
    return f"{BOUND_SIGNS[row['bound']]} {value(row['unit'], row['target'])}"


# The compliance table (per department × channel × priority), as both renderings show it.
COMPLIANCE_COLUMNS = (
    "department",
    "channel",
    "priority",
    "received",
    "responded",
    "FR in time",
    "resolved",
    "resolved in time",
    "breaches",
)


def compliance_cells(row: dict, rate: Callable[[float | None], Any]) -> list[Any]:
    """One compliance row's cells, the two rates rendered by `rate`."""
    return [
        row["department"],
        channel_name(row["channel"]),
        row["priority"],
        f"{row['received']:,}",
        f"{row['responded']:,}",
        rate(row["first_response_compliance"]),
        f"{row['resolved']:,}",
        rate(row["resolution_compliance"]),
        f"{row['breached']:,}",
    ]
