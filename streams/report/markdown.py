"""The review as Markdown: the same sections as the HTML, as tables (no charts)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from streams.report import fmt
from streams.report.review import Review
from streams.report.targets import KPIS


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def render(review: Review, title: str = "客户需求复盘 Service review") -> str:
    zone = review.period.zone
    out = [
        f"# {title}\n",
        f"Period {review.period} ({review.period.days} days, {zone}) · compared with {review.previous} · "
        f"targets: {review.kpi_file.name} · events up to {fmt.moment(review.as_of, zone)} · generated {review.generated_at}\n",
    ]
    for note in review.notes:
        out.append(f"> {note}\n")
    out.append("\n## 1. 目标达成 KPIs against targets\n")
    out.append(
        _table(
            ["KPI", "scope", "value", "target", "status", "previous", "change", "source"],
            (
                [
                    r["label"],
                    r["scope"] or "all",
                    fmt.value(r["unit"], r["value"]),
                    fmt.target_text(r),
                    "no data" if r["met"] is None else ("✔ met" if r["met"] else "✘ missed"),
                    fmt.value(r["unit"], r["previous"]),
                    fmt.change(r["unit"], r["value"], r["previous"]),
                    r["source"],
                ]
                for r in review.targets
            ),
        )
    )
    out.append("\n## 2. 与上期对比 What changed against the previous period\n")
    rows = [
        [
            info.label,
            fmt.value(info.unit, review.kpis.get(name)),
            fmt.value(info.unit, review.kpis_previous.get(name)),
            fmt.change(info.unit, review.kpis.get(name), review.kpis_previous.get(name)),
        ]
        for name, info in KPIS.items()
    ]
    rows += [
        [
            f"count: {name}",
            review.counts[name],
            review.counts_previous[name],
            f"{review.counts[name] - review.counts_previous[name]:+}",
        ]
        for name in review.counts
    ]
    out.append(_table(["KPI", str(review.period), str(review.previous), "change"], rows))
    out.append("\n## 3. 每日趋势 Daily trends\n")
    out.append(
        _table(
            ["day", "requests", "complaints", "resolved", "breached", "first response (mean)", "CSAT"],
            (
                [
                    d["date"],
                    d["received"],
                    d["complaints"],
                    d["resolved"],
                    d["breached"],
                    fmt.duration(d["first_response_mean"]),
                    fmt.percent(d["csat"]),
                ]
                for d in review.daily
            ),
        )
    )
    out.append("\n## 4. 帕累托分析 Pareto (★ = within the first 80 %)\n\n### 需求类型 Request types\n")
    out.append(_pareto(review.pareto_types, fmt.type_name))
    out.append("\n### 投诉原因 Complaint causes (aspects)\n")
    out.append(_pareto(review.pareto_causes, str) if review.pareto_causes else "No complaints in the period.\n")
    if review.grades:
        out.append("\n### 投诉分级 Complaint grades\n")
        out.append(_table(["grade", "complaints"], review.grades.items()))
    out.append("\n## 5. 渠道 Channels: answer/reply rate\n")
    out.append(
        _table(
            ["channel", "requests", "answered", "rate", "first response (median, wall)", "≤ 10 min", "≤ 30 min"],
            (
                [
                    fmt.channel_name(c["channel"]),
                    c["requests"],
                    c["answered"],
                    fmt.percent(c["answer_rate"]),
                    fmt.duration(c["first_response_median_wall"]),
                    fmt.percent(c["within_10min"]),
                    fmt.percent(c["within_30min"]),
                ]
                for c in review.channels
            ),
        )
    )
    out.append("\n## 6. 需求类型 Request types\n")
    out.append(
        _table(
            ["type", "requests", "share", "CSAT", "answers", "resolved", "FR in SLA", "breached"],
            (
                [
                    fmt.type_name(t["type"]),
                    t["requests"],
                    fmt.percent(t["share"]),
                    fmt.percent(t["csat"]),
                    t["csat_answers"],
                    fmt.percent(t["resolution_rate"]),
                    fmt.percent(t["first_response_compliance"]),
                    fmt.percent(t["breach_rate"]),
                ]
                for t in review.types
            ),
        )
    )
    out.append("\n## 7. SLA 达标率 Compliance per department × channel × priority\n\n### 各部门 per department\n")
    out.append(_compliance(review.compliance_departments))
    if review.compliance_worst:
        out.append("\n### 最需关注 furthest below target\n")
        out.append(_compliance(review.compliance_worst))
    out.append(f"\nSource: {review.compliance_source}. Every combination is in the appendix.\n")
    out.append(
        f"\n## 8. 超时工单 Breached tickets ({review.counts['breached']} tickets, {review.breached_total} targets)\n"
    )
    out.append(
        _table(
            ["ticket", "department", "channel", "priority", "type", "target", "due", "late by", "status"],
            (
                [
                    b["ticket_id"],
                    b["department"],
                    b["channel"],
                    b["priority"],
                    b["type"],
                    b["metric"],
                    fmt.moment(b["due"], zone),
                    fmt.duration(b["late_seconds"]),
                    b["status"],
                ]
                for b in review.breached
            ),
        )
    )
    out.append(f"\n## 9. 重开工单 Reopened tickets ({review.reopened_total})\n")
    out.append(
        _table(
            ["ticket", "department", "type", "channel", "reopened", "CSAT"],
            (
                [r["ticket_id"], r["department"], r["type"], r["channel"], r["times"], r["csat"] or "–"]
                for r in review.reopened
            ),
        )
    )
    out.append("\n## 附录 Appendix: compliance, every department × channel × priority\n")
    out.append(_compliance(review.compliance))
    out.append("\n## Data read\n")
    out.append(_table(["topic", "records read"], sorted(review.read.items())))
    return "".join(out)


def _compliance(rows: Sequence[dict[str, Any]]) -> str:
    return _table(list(fmt.COMPLIANCE_COLUMNS), (fmt.compliance_cells(r, fmt.percent) for r in rows))


def _pareto(rows: Sequence[dict[str, Any]], name: Any) -> str:
    return _table(
        ["item", "count", "share", "cumulative"],
        (
            [
                ("★ " if r["vital"] else "") + name(r["label"]),
                r["count"],
                fmt.percent(r["share"]),
                fmt.percent(r["cumulative"]),
            ]
            for r in rows
        ),
    )
