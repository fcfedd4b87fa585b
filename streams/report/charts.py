"""Charts as inline SVG, drawn with matplotlib (Agg-free SVG backend).

Text is written as paths (`svg.fonttype: path`), so the report shows Chinese without any font
where it is read; a CJK font is only needed here, where the charts are drawn
(`make install` installs one: scripts/ensure-report-font.sh).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

FONT_ENV = "TICKETFLOW_REPORT_FONT"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
COLOURS = {
    "bar": "#4472c4",
    "accent": "#c0504d",
    "ok": "#2e7d32",
    "line": "#ed7d31",
    "grey": "#7f7f7f",
    "muted": "#a5b8e0",
}


class FontMissing(RuntimeError):
    """No font with Chinese glyphs was found to draw the charts."""


def find_cjk_font() -> Path:
    configured = os.environ.get(FONT_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontMissing(f"{FONT_ENV}={configured}: no such font file")
        return path
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(
        "no CJK font found for the report's charts (looked for " + ", ".join(FONT_CANDIDATES) + "). "
        "Run `make install` (it installs Debian's fonts-wqy-microhei), or `apt-get install fonts-wqy-microhei`, "
        f"or set {FONT_ENV} to a .ttf/.ttc/.otf font with Chinese glyphs."
    )


@lru_cache(maxsize=1)
def _pyplot():  # noqa: ANN202
    import matplotlib

    matplotlib.use("svg")
    from matplotlib import font_manager, pyplot

    path = find_cjk_font()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "path",
            "svg.hashsalt": "ticketflow-report",  # stable ids: the same data gives the same file
            "font.family": "sans-serif",
            "font.sans-serif": [name, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
        }
    )
    return pyplot


_ID = re.compile(r'\b(id|xlink:href|clip-path)="(url\(#|#)?([A-Za-z0-9_-]+)')


def _svg(fig: Any, prefix: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    _pyplot().close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # Each chart's ids get their own prefix: several SVGs share one HTML document.
    text = _ID.sub(lambda m: f'{m.group(1)}="{m.group(2) or ""}{prefix}-{m.group(3)}', text)
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 width="100%"', text, count=1)
    return text


def pareto_chart(rows: Sequence[dict[str, Any]], title: str, prefix: str, limit: int = 12) -> str | None:
    """Bars by count, descending, with the cumulative share and the 80 % line."""
    if not rows:
        return None
    plt = _pyplot()
    rows = list(rows)[:limit]
    fig, axis = plt.subplots(figsize=(7.2, 3.2))
    labels = [row["label"] for row in rows]
    colours = [COLOURS["bar"] if row["vital"] else COLOURS["muted"] for row in rows]
    axis.bar(range(len(rows)), [row["count"] for row in rows], color=colours)
    axis.set_xticks(
        range(len(rows)), labels, rotation=30 if len(rows) > 5 else 0, ha="right" if len(rows) > 5 else "center"
    )
    axis.set_ylabel("件数 count")
    axis.set_title(title, loc="left", fontsize=10)
    share = axis.twinx()
    share.plot(range(len(rows)), [row["cumulative"] * 100 for row in rows], color=COLOURS["line"], marker="o", lw=1.5)
    share.axhline(80, color=COLOURS["accent"], ls="--", lw=1)
    share.text(len(rows) - 0.5, 81, "80 %", color=COLOURS["accent"], ha="right", va="bottom", fontsize=8)
    share.set_ylim(0, 105)
    share.set_ylabel("累计占比 cumulative %")
    share.spines["top"].set_visible(False)
    return _svg(fig, prefix)


def daily_chart(days: Sequence[dict[str, Any]], prefix: str) -> str | None:
    """Requests and complaints per day (bars), breach rate and CSAT (lines)."""
    if not days:
        return None
    plt = _pyplot()
    fig, (volume, rates) = plt.subplots(1, 2, figsize=(9.6, 3.0))
    labels = [day["date"][5:] for day in days]
    x = range(len(days))
    volume.bar(x, [day["received"] for day in days], color=COLOURS["bar"], label="需求 requests")
    volume.bar(x, [day["complaints"] for day in days], color=COLOURS["accent"], label="投诉 complaints")
    volume.set_xticks(list(x), labels, rotation=45 if len(days) > 8 else 0)
    volume.set_title("每日需求量 requests per day", loc="left", fontsize=10)
    volume.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)

    def series(name: str) -> list[float]:
        return [day[name] * 100 if day[name] is not None else float("nan") for day in days]

    rates.plot(list(x), series("breach_rate"), color=COLOURS["accent"], marker="o", label="超时率 breach rate %")
    rates.plot(list(x), series("csat"), color=COLOURS["ok"], marker="s", label="满意度 CSAT %")
    rates.set_ylim(0, 105)
    rates.set_xticks(list(x), labels, rotation=45 if len(days) > 8 else 0)
    rates.set_title("每日超时率与满意度 breach rate, CSAT", loc="left", fontsize=10)
    rates.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    return _svg(fig, prefix)


def rate_bars(rows: Sequence[tuple[str, float | None]], title: str, line: float | None, prefix: str) -> str | None:
    """Horizontal bars of rates (0–1) with a target line."""
    rows = [(label, value) for label, value in rows if value is not None]
    if not rows:
        return None
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(4.6, 0.35 * len(rows) + 0.9))
    values = [value * 100 for _, value in rows]
    colours = [COLOURS["bar"] if line is None or value >= line * 100 else COLOURS["accent"] for value in values]
    axis.barh(range(len(rows)), values, color=colours)
    axis.set_yticks(range(len(rows)), [label for label, _ in rows])
    axis.invert_yaxis()
    axis.set_xlim(0, 105)
    for index, value in enumerate(values):
        axis.text(min(value, 100) + 1, index, f"{value:.1f}%", va="center", fontsize=8)
    if line is not None:
        axis.axvline(line * 100, color=COLOURS["accent"], ls="--", lw=1)
    axis.set_title(title, loc="left", fontsize=10)
    return _svg(fig, prefix)
