"""The worker's `GET /v1/board`: the board of the partitions this worker owns, and the
per-partition report the gateway merges over every worker (docs/board.md)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from streams.board import view
from streams.domain.windows import WindowKey
from streams.stages.windows import SlaWindowsStage

if TYPE_CHECKING:
    from streams.agents.lifecycle import LifecycleAgents
    from streams.app import TicketflowApp


def today_windows(windows: SlaWindowsStage, owned: set[int], now: float) -> dict[int, list[dict]]:
    """Today's day windows of the owned window partitions, summed per department × priority."""
    prefix = f"day|{view.day_start(now, windows.zone):.0f}|"
    found: dict[int, list[tuple[str, str, dict]]] = {partition: [] for partition in owned}
    for encoded in windows.store.keys():  # noqa: SIM118 - a store, not a dict
        if not encoded.startswith(prefix):
            continue
        key = WindowKey.decode(encoded)
        partition = windows.partition_of(key.department)
        aggregate = windows.store.get(encoded)
        if partition in found and aggregate is not None:
            found[partition].append((key.department, key.priority, aggregate))
    return {partition: view.compliance_rows(items) for partition, items in found.items()}


def board_report(app: TicketflowApp, lifecycle: LifecycleAgents, windows: SlaWindowsStage, now: float) -> dict:
    floor = lifecycle.stage.floor
    facts_topic = app.pipeline_topics.sla_facts.get_topic_name()
    owned_windows = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == facts_topic}
    tickets = {partition: part for partition in floor.partitions() if (part := floor.part(partition)) is not None}
    return view.report(
        tickets=tickets,
        windows=today_windows(windows, owned_windows, now),
        partition_count=app.ticketflow.partitions,
        day=view.local_day(now, windows.zone),
        timezone_name=app.ticketflow.report_timezone,
    )


def register(app: TicketflowApp, lifecycle: LifecycleAgents, windows: SlaWindowsStage) -> None:
    @app.page("/v1/board")
    async def board_page(web, request):  # noqa: ANN001
        """This worker's board (`?parts=1` adds the per-partition report the gateway merges)."""
        now = time.time()
        report = board_report(app, lifecycle, windows, now)
        document = view.merge([report], now, sources=[{"worker": str(app.conf.canonical_url), "ok": True}])
        if request.query.get("parts") == "1":
            document["parts"] = report
        return web.json(document)
