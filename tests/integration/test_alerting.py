"""The alert rules of deploy/prometheus on a real Prometheus server scraping a running stack:
a request nobody answers breaches its seconds-scale first-response target, and the breach
alert fires through Prometheus's API; a burst of unanswered requests on one channel then puts
the channel's reply-rate alert in pending. The worker's consumer-lag gauges are scraped, and
every Grafana dashboard query evaluates on the live data."""

from __future__ import annotations

import time

import pytest

from streams.catalog import TopicCatalog
from tests.deploy.exported import DASHBOARDS, dashboard_panels
from tests.integration.conftest import post_json, stack_settings, start_stack
from tests.integration.prometheus import start_prometheus

pytestmark = pytest.mark.integration

FIRST_RESPONSE_S = 2
POLICY = f"""
warn_at: [0.5]
policies:
  - name: seconds
    match: {{}}
    targets: {{first_response: {FIRST_RESPONSE_S}s, resolution: 120s}}
"""
TEXT = "请问会员积分怎么兑换？"


def dashboard_queries() -> list[str]:
    return [
        target["expr"] for path in DASHBOARDS for panel in dashboard_panels(path) for target in panel.get("targets", [])
    ]


def _alerts(prometheus, name: str) -> list[dict]:
    return [alert for alert in prometheus.alerts() if alert["labels"]["alertname"] == name]


def test_an_sla_breach_fires_the_breach_alert_in_prometheus(broker, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = stack_settings(broker, policy)
    supervisor = start_stack(settings, tmp_path)
    prometheus = None
    try:
        prometheus = start_prometheus(
            tmp_path / "prometheus",
            {
                "ticketflow-worker": f"{settings.worker_host}:{settings.worker_port}",
                "ticketflow-gateway": f"{settings.gateway_host}:{settings.gateway_port}",
            },
        )
        prometheus.wait_for(
            "both targets scraped and up",
            lambda: (
                sorted(
                    target["labels"]["job"]
                    for target in prometheus.api("targets")["activeTargets"]
                    if target["health"] == "up"
                )
                == ["ticketflow-gateway", "ticketflow-worker"]
            ),
            timeout=15,
        )
        # The rules are loaded from deploy/ and evaluated; nothing breached yet.
        groups = {group["name"] for group in prometheus.api("rules")["groups"]}
        assert {"ticketflow-sla", "ticketflow-kpi", "ticketflow-pipeline", "ticketflow-consumers"} <= groups
        prometheus.wait_for(
            "a rule evaluation",
            lambda: all(not group["lastEvaluation"].startswith("0001") for group in prometheus.api("rules")["groups"]),
            timeout=10,
        )
        assert _alerts(prometheus, "TicketflowSlaBreaches") == []

        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        posted = time.monotonic()
        post_json(f"{gateway}/v1/requests/webchat", {"text": TEXT, "customer": {"id": "C-alert-1"}})

        # The breach is due 2 s after submission; its counter series is new (value 1).
        (breach,) = prometheus.wait_for(
            "TicketflowSlaBreaches to fire",
            lambda: [
                alert
                for alert in _alerts(prometheus, "TicketflowSlaBreaches")
                if alert["labels"]["metric"] == "first_response" and alert["state"] == "firing"
            ],
            timeout=30,
        )
        fired_after = time.monotonic() - posted
        assert breach["labels"]["severity"] == "warning" and breach["labels"]["department"]
        assert breach["annotations"]["runbook"] and breach["annotations"]["summary"].startswith("SLA breaches in ")
        assert float(breach["value"]) >= 1
        # Due 2 s after submission; then up to a scrape and an evaluation (1 s each) — more on a busy machine.
        assert FIRST_RESPONSE_S < fired_after < FIRST_RESPONSE_S + 20, fired_after

        # Ten more unanswered webchat requests (the series now exists, so increase() counts them):
        # the channel's reply rate is 0 % over more than 10 ended clocks → pending (for 15 min).
        for number in range(10):
            post_json(f"{gateway}/v1/requests/webchat", {"text": TEXT, "customer": {"id": f"C-alert-{number + 2}"}})
        (pending,) = prometheus.wait_for(
            "TicketflowChannelReplyRateLow to go pending",
            lambda: [
                alert
                for alert in _alerts(prometheus, "TicketflowChannelReplyRateLow")
                if alert["labels"]["channel"] == "webchat"
            ],
            timeout=25,
        )
        assert pending["state"] == "pending" and float(pending["value"]) == 0
        assert [alert["labels"]["channel"] for alert in _alerts(prometheus, "TicketflowChannelReplyRateLow")] == [
            "webchat"
        ]

        # The worker's consumer-lag gauges reach Prometheus, one series per owned input partition.
        lag = prometheus.query('ticketflow_consumer_lag{job="ticketflow-worker"}')
        topics = {series["metric"]["topic"] for series in lag}
        assert TopicCatalog(settings.topic_prefix).requests_classified in topics, topics
        assert not any(topic.endswith("-changelog") for topic in topics)
        # Once the traffic has been processed and committed, every owned partition is at lag 0
        # (an idle, caught-up partition must not look stalled).
        caught_up = 'max(ticketflow_consumer_lag{job="ticketflow-worker"}) == 0'
        prometheus.wait_for("the consumer lag to drop to 0", lambda: prometheus.query(caught_up), timeout=15)
        assert not _alerts(prometheus, "TicketflowPartitionStalled") and not _alerts(prometheus, "TicketflowWorkerDown")

        # Every dashboard query evaluates on the live data; those of this traffic return series.
        answered = {expr: prometheus.query(expr) for expr in dashboard_queries()}
        for expr in (
            "sum by (channel) (rate(ticketflow_requests_total[5m])) * 60",
            "ticketflow:channel_reply_rate:ratio_1h",
            "sum by (topic) (ticketflow_consumer_lag)",
        ):
            assert answered[expr], expr
    finally:
        if prometheus is not None:
            prometheus.stop()
        supervisor.stop()
