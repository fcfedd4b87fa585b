"""`python -m bench.report`: how long `ticketflow report` takes over a large period.

Starts an embedded broker, writes a generated period (bench/week.py: BENCH_REPORT_PER_DAY
requests a day on average, default 50,000 — 350,000 over the 7 days — and as many in the
previous 7 days, which the report reads too, for its comparison), then renders the HTML report
and the Markdown report of the period, each timed: wall time, and the CPU time of this
process (the report runs on one core; the broker is another process). Figures are printed and
written to bench-results/report.json.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from bench.week import Week, produce
from streams.report.cli import make_report
from streams.transport.broker import EmbeddedBroker

PREFIX = "bench."


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    per_day = int(os.environ.get("BENCH_REPORT_PER_DAY", "50000"))
    days = 7
    first = date.today() - timedelta(days=days + 21)
    last = first + timedelta(days=days - 1)
    results: dict = {"per_day": per_day, "days": days, "first": first.isoformat(), "last": last.isoformat()}
    with EmbeddedBroker(port=0) as broker:
        started = time.monotonic()
        week = Week(first, days, per_day, seed=11)
        written = produce(broker.bootstrap, PREFIX, week.records(), log=lambda line: print(line, file=sys.stderr))
        results["records_written"] = sum(written.values())
        results["write_seconds"] = round(time.monotonic() - started, 1)
        print(f"wrote {results['records_written']:,} records in {results['write_seconds']}s", file=sys.stderr)
        for output_format in ("html", "markdown"):
            wall, cpu = time.monotonic(), _cpu()
            document, review = make_report(
                bootstrap=broker.bootstrap,
                prefix=PREFIX,
                first=first,
                last=last,
                zone="Asia/Shanghai",
                kpi_path=None,
                output_format=output_format,
                follow_days=0,
            )
            results[output_format] = {
                "wall_seconds": round(time.monotonic() - wall, 1),
                "cpu_seconds": round(_cpu() - cpu, 1),
                "requests": review.counts["requests"],
                "records_read": sum(review.read.values()),
                "bytes": len(document.encode()),
            }
            print(f"{output_format}: {results[output_format]}", file=sys.stderr)
            out = Path("bench-results") / f"report-bench.{'html' if output_format == 'html' else 'md'}"
            out.parent.mkdir(exist_ok=True)
            out.write_text(document, encoding="utf-8")
    results["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    Path("bench-results/report.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
