"""The worker's faust application, built explicitly by `create_app(settings)`: its topics,
tables, agents, timers and web pages are registered here, in one place (docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

import faust

from streams import web
from streams.agents import care, classify, followups, identity, lifecycle, normalize, windows
from streams.catalog import TopicCatalog
from streams.settings import Settings
from streams.state.pending_writes import PendingWrites
from streams.tables import Tables
from streams.topics import Topics
from streams.transport.faust_kafka import Transport


class TicketflowApp(faust.App):
    """faust.App with Ticketflow's settings and the transport that honours `fetch_max_wait_ms`."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        self.ticketflow = settings
        self.catalog = TopicCatalog(settings.topic_prefix)
        self.fetch_max_wait_ms = settings.fetch_max_wait_ms
        # Changelog writes waiting for their events, one queue per table (the lifecycle and the
        # SLA windows add theirs); the consumer commits offsets only once they are done
        # (streams/transport/faust_kafka.py).
        self.pending_writes: list[PendingWrites] = []
        self.pipeline_topics: Topics
        self.pipeline_tables: Tables
        self.pipeline: Pipeline
        super().__init__(settings.app_id, **options)

    def _new_transport(self) -> Transport:
        return Transport(self.conf.broker_consumer, self)


class Pipeline:
    """What `create_app` registered on an app: its agents' handles, for the web pages and tests."""

    def __init__(self, app: TicketflowApp) -> None:
        self.identity = identity.register(app)
        self.normalize = normalize.register(app, contacts=self.identity.lookup)
        self.classify = classify.register(app)
        self.lifecycle = lifecycle.register(app)
        self.windows = windows.register(app)
        self.followups = followups.register(app, self.lifecycle)
        self.care = care.register(app)
        web.register(app, self.lifecycle, self.windows)


def create_app(settings: Settings) -> TicketflowApp:
    """A worker app for these settings, with every topic, table, agent, timer and page."""
    app = faust_app(settings)
    app.pipeline_topics = Topics(app)
    app.pipeline_tables = Tables(app)
    app.pipeline = Pipeline(app)
    return app


def faust_app(settings: Settings) -> TicketflowApp:
    """The faust app alone, configured from the settings; nothing registered yet."""
    servers = settings.broker_url or "127.0.0.1:9092"
    session_timeout = settings.session_timeout
    return TicketflowApp(
        settings,
        broker=[f"kafka://{server}" for server in servers.split(",")],
        store="memory://",
        datadir=str(settings.state_dir / settings.app_id),
        autodiscover=False,
        topic_partitions=settings.partitions,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=max(0.5, session_timeout / 6),
        broker_request_timeout=max(40.0, session_timeout * 2),
        broker_rebalance_timeout=max(10.0, session_timeout * 2),
        broker_commit_interval=settings.commit_interval,
        producer_acks=-1,
        producer_linger=settings.producer_linger_ms / 1000.0,
        # Normal batching on every broker; one record per batch only when asked
        # (Settings.single_record_batches).
        producer_max_batch_size=1 if settings.uses_single_record_batches else 16384,
        # The in-memory store replays a changelog from the start on every assignment, so a standby
        # copy saves no recovery time; it would only hold other workers' tickets in memory.
        table_standby_replicas=0,
        web_enabled=True,
        web_bind=settings.worker_host,
        web_host=settings.advertised_worker_host,
        web_port=settings.worker_port,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_tables_enabled=False,
        web_metrics_enabled=False,
        logging_config=None,
    )
