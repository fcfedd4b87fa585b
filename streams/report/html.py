"""The review as one self-contained HTML file: inline CSS, charts as inline SVG, no scripts,
nothing fetched at view time; print-friendly."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

from streams.report import charts, fmt
from streams.report.review import Review
from streams.report.targets import KPIS

CSS = """
:root { --ok: #2e7d32; --bad: #c62828; --muted: #666; --line: #ddd; --head: #f4f6fa; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif;
       margin: 0 auto; max-width: 1100px; padding: 24px; color: #222; line-height: 1.45; font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #4472c4;
     padding-bottom: 3px; } h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: var(--muted); font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 10px; margin: 14px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.card .label { font-size: 12px; color: var(--muted); } .card .value { font-size: 22px; font-weight: 600; }
.card .delta { font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; } .na { color: var(--muted); }
.better { color: var(--ok); } .worse { color: var(--bad); } .same { color: var(--muted); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }
figure { margin: 6px 0; } figure svg { max-width: 100%; height: auto; }
.note { color: var(--muted); font-size: 12px; } ul.notes li { color: #8a5a00; }
.vital { background: #eef3fc; }
@media (max-width: 800px) { .grid2 { grid-template-columns: 1fr; } }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; } h2 { break-after: avoid; }
  section, figure, table { break-inside: avoid-page; } .cards { grid-template-columns: repeat(4, 1fr); }
  @page { size: A4; margin: 14mm; }
}
"""


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: set[int] = frozenset(),
    row_class: Callable[[int], str] | None = None,
) -> str:
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for index, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            text = cell if isinstance(cell, _Raw) else escape(str(cell))
            cells.append(f'<td class="num">{text}</td>' if i in numeric else f"<td>{text}</td>")
        extra = f' class="{row_class(index)}"' if row_class and row_class(index) else ""
        body.append(f"<tr{extra}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw(str):
    """Markup that is not escaped."""


def _status(met: bool | None) -> _Raw:
    if met is None:
        return _Raw('<span class="na">no data</span>')
    return _Raw('<span class="ok">✔ met</span>' if met else '<span class="bad">✘ missed</span>')


def _change(unit: str, better: str, now: float | None, before: float | None) -> _Raw:
    css = fmt.direction(better, now, before)
    return _Raw(f'<span class="{css}">{escape(fmt.change(unit, now, before))}</span>')


def _figure(svg: str | None, empty: str = "no data") -> str:
    return f"<figure>{svg}</figure>" if svg else f'<p class="note">{escape(empty)}</p>'


def _cards(review: Review) -> str:
    picks = [
        ("需求量 requests", "requests", "count", "higher"),
        ("首次响应 first response (mean)", "first_response_mean", "seconds", "lower"),
        ("解决率 resolved", "resolution_rate", "rate", "higher"),
        ("超时率 breached", "breach_rate", "rate", "lower"),
        ("投诉率 complaints", "complaint_rate", "rate", "lower"),
        ("满意度 CSAT", "csat", "rate", "higher"),
        ("NPS", "nps", "nps", "higher"),
        ("升级率 escalated", "escalation_rate", "rate", "lower"),
    ]
    cards = []
    for label, name, unit, better in picks:
        now, before = review.kpis.get(name), review.kpis_previous.get(name)
        shown = f"{int(now):,}" if unit == "count" and now is not None else fmt.value(unit, now)
        delta = fmt.change("nps" if unit == "count" else unit, now, before)
        cards.append(
            f'<div class="card"><div class="label">{escape(label)}</div><div class="value">{escape(shown)}</div>'
            f'<div class="delta {fmt.direction(better, now, before)}">{escape(delta)} vs previous</div></div>'
        )
    met = sum(1 for row in review.targets if row["met"])
    known = sum(1 for row in review.targets if row["met"] is not None)
    cards.append(
        f'<div class="card"><div class="label">目标达成 targets met</div><div class="value">{met} / {len(review.targets)}'
        f'</div><div class="delta na">{len(review.targets) - known} without data</div></div>'
    )
    return f'<div class="cards">{"".join(cards)}</div>'


def render(review: Review, title: str = "客户需求复盘 Service review") -> str:
    zone = review.period.zone
    parts = [
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)} {review.period}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>'
    ]
    parts.append(
        f'<header><h1>{escape(title)}</h1><div class="meta">Period {review.period} ({review.period.days} days, '
        f"{escape(zone)}) · compared with {review.previous} · targets: {escape(review.kpi_file.name)} · "
        f"events up to {fmt.moment(review.as_of, zone)} · generated {escape(review.generated_at)}</div></header>"
    )
    parts.append(_cards(review))
    if review.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in review.notes) + "</ul>")

    parts.append("<section><h2>1. 目标达成 KPIs against targets</h2>")
    parts.append(
        _table(
            ["KPI", "scope", "value", "target", "status", "previous", "change", "source"],
            (
                [
                    row["label"],
                    row["scope"] or "all",
                    fmt.value(row["unit"], row["value"]),
                    fmt.target_text(row),
                    _status(row["met"]),
                    fmt.value(row["unit"], row["previous"]),
                    _change(row["unit"], row["better"], row["value"], row["previous"]),
                    row["source"],
                ]
                for row in review.targets
            ),
            numeric={2, 3, 5, 6},
        )
    )
    parts.append(f'<p class="note">{escape(review.kpi_file.description)}</p></section>')

    parts.append("<section><h2>2. 与上期对比 What changed against the previous period</h2>")
    rows = []
    for name, info in KPIS.items():
        now, before = review.kpis.get(name), review.kpis_previous.get(name)
        rows.append(
            [
                info.label,
                fmt.value(info.unit, now),
                fmt.value(info.unit, before),
                _change(info.unit, info.better, now, before),
            ]
        )
    counts = [
        [
            f"count: {name}",
            f"{review.counts[name]:,}",
            f"{review.counts_previous[name]:,}",
            f"{review.counts[name] - review.counts_previous[name]:+,}",
        ]
        for name in review.counts
    ]
    parts.append(_table(["KPI", str(review.period), str(review.previous), "change"], rows + counts, numeric={1, 2, 3}))
    parts.append("</section>")

    parts.append("<section><h2>3. 每日趋势 Daily trends</h2>")
    parts.append(_figure(charts.daily_chart(review.daily, "daily")))
    parts.append(
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
            numeric={1, 2, 3, 4, 5, 6},
        )
    )
    parts.append("</section>")

    parts.append('<section><h2>4. 帕累托分析 Pareto: what drives the volume and the complaints</h2><div class="grid2">')
    type_rows = [dict(row, label=fmt.type_name(row["label"])) for row in review.pareto_types]
    parts.append(
        "<div>"
        + _figure(charts.pareto_chart(type_rows, "需求类型 request types", "pareto-types"))
        + _pareto_table(type_rows)
        + "</div>"
    )
    parts.append(
        "<div>"
        + _figure(
            charts.pareto_chart(review.pareto_causes, "投诉原因 complaint causes (aspects)", "pareto-causes"),
            "no complaints in the period",
        )
        + _pareto_table(review.pareto_causes)
    )
    if review.grades:
        parts.append(
            "<h3>投诉分级 complaint grades</h3>" + _table(["grade", "complaints"], review.grades.items(), numeric={1})
        )
    parts.append('</div></div><p class="note">Highlighted rows make up the first 80 % (the vital few).</p></section>')

    parts.append('<section><h2>5. 渠道 Channels: answer/reply rate</h2><div class="grid2">')
    parts.append(
        _figure(
            charts.rate_bars(
                [(fmt.channel_name(c["channel"]), c["answer_rate"]) for c in review.channels],
                "接通率/回复率 answer/reply rate",
                0.95,
                "channels",
            )
        )
    )
    parts.append(
        _table(
            ["channel", "requests", "answered", "rate", "first response (median, wall)", "≤ 10 min", "≤ 30 min"],
            (
                [
                    fmt.channel_name(c["channel"]),
                    f"{c['requests']:,}",
                    f"{c['answered']:,}",
                    fmt.percent(c["answer_rate"]),
                    fmt.duration(c["first_response_median_wall"]),
                    fmt.percent(c["within_10min"]),
                    fmt.percent(c["within_30min"]),
                ]
                for c in review.channels
            ),
            numeric={1, 2, 3, 4, 5, 6},
        )
    )
    parts.append("</div></section>")

    parts.append('<section><h2>6. 需求类型 Request types: satisfaction and outcomes</h2><div class="grid2">')
    parts.append(
        _figure(
            charts.rate_bars(
                [(fmt.type_name(t["type"]), t["csat"]) for t in review.types],
                "各类型满意度 CSAT per type",
                0.85,
                "types",
            ),
            "no survey answers",
        )
    )
    parts.append(
        _table(
            ["type", "requests", "share", "CSAT", "answers", "resolved", "FR in SLA", "breached"],
            (
                [
                    fmt.type_name(t["type"]),
                    f"{t['requests']:,}",
                    fmt.percent(t["share"]),
                    fmt.percent(t["csat"]),
                    t["csat_answers"],
                    fmt.percent(t["resolution_rate"]),
                    fmt.percent(t["first_response_compliance"]),
                    fmt.percent(t["breach_rate"]),
                ]
                for t in review.types
            ),
            numeric={1, 2, 3, 4, 5, 6, 7},
        )
    )
    parts.append("</div></section>")

    parts.append("<section><h2>7. SLA 达标率 Compliance per department × channel × priority</h2>")
    parts.append("<h3>各部门 per department</h3>" + _compliance_table(review.compliance_departments, zone))
    if review.compliance_worst:
        parts.append(
            "<h3>最需关注 furthest below target (department × channel × priority)</h3>"
            + _compliance_table(review.compliance_worst, zone)
        )
    parts.append(
        f'<p class="note">Source: {escape(review.compliance_source)}. Every combination is in the appendix. '
        f"Rates under 90 % are in red.</p></section>"
    )

    parts.append(
        f"<section><h2>8. 超时工单 Breached tickets ({review.counts['breached']:,} tickets, "
        f"{review.breached_total:,} targets)</h2>"
    )
    parts.append(
        _table(
            ["ticket", "department", "channel", "priority", "type", "target", "due", "late by", "status", "escalation"],
            (
                [
                    b["ticket_id"],
                    b["department"],
                    b["channel"],
                    b["priority"],
                    b["type"],
                    b["metric"] + (f" (cycle {b['cycle']})" if b["cycle"] > 1 else ""),
                    fmt.moment(b["due"], zone),
                    fmt.duration(b["late_seconds"]),
                    b["status"],
                    b["escalation_level"] or "–",
                ]
                for b in review.breached
            ),
            numeric={7},
        )
    )
    if review.breached_total > len(review.breached):
        parts.append(
            f'<p class="note">The {len(review.breached)} latest of {review.breached_total:,} breaches are listed.</p>'
        )
    parts.append(f"<h2>9. 重开工单 Reopened tickets ({review.reopened_total:,})</h2>")
    parts.append(
        _table(
            ["ticket", "department", "type", "channel", "reopened", "CSAT"],
            (
                [r["ticket_id"], r["department"], fmt.type_name(r["type"]), r["channel"], r["times"], r["csat"] or "–"]
                for r in review.reopened
            ),
            numeric={4, 5},
        )
    )
    if review.reopened_total > len(review.reopened):
        parts.append(
            f'<p class="note">{len(review.reopened)} of {review.reopened_total:,} reopened tickets are listed.</p>'
        )
    parts.append("</section>")

    parts.append("<section><h2>附录 Appendix: compliance, every department × channel × priority</h2>")
    parts.append(_compliance_table(review.compliance, zone) + "</section>")
    parts.append("<section><h2>Data read</h2>")
    parts.append(_table(["topic", "records read"], sorted(review.read.items()), numeric={1}))
    parts.append("</section></body></html>")
    return "".join(parts)


def _rate_cell(value: float | None) -> _Raw:
    text = escape(fmt.percent(value))
    return _Raw(f'<span class="bad">{text}</span>' if value is not None and value < 0.9 else text)


def _compliance_table(rows: Sequence[dict[str, Any]], zone: str) -> str:
    return _table(
        list(fmt.COMPLIANCE_COLUMNS),
        (fmt.compliance_cells(r, _rate_cell) for r in rows),
        numeric={3, 4, 5, 6, 7, 8},
    )


def _pareto_table(rows: Sequence[dict[str, Any]]) -> str:
    return _table(
        ["item", "count", "share", "cumulative"],
        (
            [row["label"], f"{row['count']:,}", fmt.percent(row["share"]), fmt.percent(row["cumulative"])]
            for row in rows
        ),
        numeric={1, 2, 3},
        row_class=lambda i: "vital" if rows[i]["vital"] else "",
    )
