"""Pages on each worker's web server: Prometheus metrics (consumer lag included), worker status,
ticket state, SLA windows.

`GET /v1/tickets/{ticket_id}` is routed by faust to the worker that owns the ticket's
partition, so any worker can be asked (docs/channels.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from streams.board import worker_pages as board_pages
from streams.domain.events import iso
from streams.metrics import register_collector
from streams.stages.windows import SlaWindowsStage
from streams.transport.lag import ConsumerLag

if TYPE_CHECKING:
    from streams.agents.lifecycle import LifecycleAgents
    from streams.app import TicketflowApp


def register(app: TicketflowApp, lifecycle: LifecycleAgents, windows: SlaWindowsStage) -> None:
    tables = app.pipeline_tables
    # Read at scrape time from the running consumer (none before the worker has started one).
    register_collector(ConsumerLag(lambda: getattr(app, "_consumer", None)))
    board_pages.register(app, lifecycle, windows)  # GET /v1/board (docs/board.md)

    @app.page("/metrics")
    async def metrics_page(web, request):  # noqa: ANN001
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 by definition.
        content_type = ";".join(part for part in CONTENT_TYPE_LATEST.split(";") if "charset" not in part)
        return web.bytes(generate_latest(REGISTRY), content_type=content_type)

    @app.page("/v1/status")
    async def status_page(web, request):  # noqa: ANN001
        stage = lifecycle.stage
        owned = sorted(stage.index.partitions())
        return web.json(
            {
                "app_id": app.conf.id,
                # Ready: partitions assigned, tables recovered, no rebalance under way.
                "ready": bool(owned) and lifecycle.recoveries > 0 and not getattr(app, "rebalancing", False),
                "owned_partitions": owned,
                "recoveries": lifecycle.recoveries,
                "scheduled_tickets": stage.index.scheduled(),
                "open_tickets": stage.open_tickets.total(),
                "next_due": iso(stage.index.next_due()),
            }
        )

    @app.page("/v1/tickets/{ticket_id}")
    @app.table_route(table=tables.tickets_table, match_info="ticket_id")
    async def ticket_page(web, request, ticket_id):  # noqa: ANN001
        state = tables.tickets.get(ticket_id)
        if state is None:
            return web.json(
                {"error": "not_found", "message": f"no ticket {ticket_id} in this worker's partitions"}, status=404
            )
        document = state.model_dump(mode="json", exclude={"early_actions", "recent_action_ids"})
        document["due"] = {metric: iso(clock.due_at) for metric, clock in state.clocks.items()}
        document["next_point"] = iso(state.next_due())
        return web.json(document)

    @app.table_route(table=tables.windows_table, query_param="department")
    async def department_windows(web, request):  # noqa: ANN001 - runs on the worker that owns the department
        department, size = request.query["department"], request.query.get("size")
        return web.json({"department": department, "windows": windows.current(department, size)})

    @app.page("/v1/sla/windows")
    async def sla_windows_page(web, request):  # noqa: ANN001
        """Check the query first (faust's routing needs the department), then forward to the owner."""
        if not request.query.get("department"):
            return web.json({"error": "missing_department", "message": "give ?department=<name>"}, status=400)
        if request.query.get("size") not in (None, "hour", "day"):
            return web.json({"error": "bad_size", "message": "size is hour or day"}, status=400)
        return await department_windows(web, request)
