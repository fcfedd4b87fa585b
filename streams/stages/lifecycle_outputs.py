"""What a ticket's step emits, and the metrics counted on the way (docs/topics.md, docs/metrics.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson

from streams import metrics
from streams.adapters import replies
from streams.catalog import TopicCatalog
from streams.domain import events, windows
from streams.domain.policies import PolicyFile
from streams.domain.tickets import Outcome, TicketState
from streams.models import ClassifiedRequest
from streams.records import Output
from streams.stages.common import CLOUDEVENT_HEADERS

log = logging.getLogger("streams.stages.lifecycle")

_DURATION_HISTOGRAMS = {
    "first_response": metrics.FIRST_RESPONSE_SECONDS,
    "next_response": metrics.NEXT_RESPONSE_SECONDS,
    "resolution": metrics.RESOLUTION_SECONDS,
}


def window_facts(facts_topic: str | None, state: TicketState, outcome: Outcome) -> Iterator[Output]:
    """Facts for the SLA windows (received, responded, resolved, breached), keyed by department."""
    if facts_topic is None:
        return
    where = {
        "department": state.department or "unknown",
        "channel": state.channel or "unknown",
        "priority": state.urgency or "unknown",
    }
    found = []
    if outcome.opened and state.submitted_at is not None:
        found.append(windows.fact("received", at=state.submitted_at, **where))
    for event in outcome.sla_events:
        if event.kind == "fulfilled" and event.metric in ("first_response", "resolution"):
            kind = "responded" if event.metric == "first_response" else "resolved"
            found.append(
                windows.fact(kind, at=event.at, within_target=event.within_target, elapsed=event.elapsed, **where)
            )
        elif event.kind == "breached":
            found.append(windows.fact("breached", at=event.at, metric=event.metric, **where))
    key = where["department"].encode()
    for document in found:
        yield Output(facts_topic, key, orjson.dumps(document))


def step_outputs(
    catalog: TopicCatalog,
    policies: PolicyFile,
    facts_topic: str | None,
    state: TicketState,
    outcome: Outcome,
    classified: ClassifiedRequest | None,
    now: float,
    from_timer: bool = False,
) -> Iterator[Output]:
    """What one step of a ticket emits — department copies, SLA events, facts for the windows,
    replies passed on or promoted — counted as it goes (docs/metrics.md). Points fired by an
    action or an import rather than the timer are late by design and not counted as lateness."""
    key = state.ticket_id.encode()
    reasons = outcome.routing.reasons if outcome.routing else []
    labels = (state.department or "unknown", state.channel or "unknown", state.urgency or "unknown")
    if outcome.opened:
        metrics.REQUESTS.labels(state.channel, state.type, state.department).inc()
    yield from window_facts(facts_topic, state, outcome)
    for copy in outcome.routed:
        event = events.routed_ticket(state, copy, classified, now=now, reasons=reasons)
        metrics.ROUTED.labels(copy.department, copy.role).inc()
        yield Output(catalog.department(copy.department), key, orjson.dumps(event), CLOUDEVENT_HEADERS)
    for sla_event in outcome.sla_events:
        metrics.SLA_EVENTS.labels(sla_event.kind, sla_event.metric).inc()
        if sla_event.kind == "warning":
            metrics.SLA_WARNINGS.labels(sla_event.metric, *labels).inc()
        elif sla_event.kind == "breached":
            metrics.SLA_BREACHES.labels(sla_event.metric, *labels).inc()
        elif sla_event.kind == "fulfilled":
            metrics.SLA_FULFILLED.labels(sla_event.metric, str(bool(sla_event.within_target)).lower(), *labels).inc()
            histogram = _DURATION_HISTOGRAMS.get(sla_event.metric)
            if histogram is not None:
                histogram.labels(*labels).observe(sla_event.elapsed or 0.0)
        elif sla_event.kind == "escalated":
            metrics.SLA_ESCALATIONS.labels(sla_event.metric, str(sla_event.level), labels[0]).inc()
        notify = ()
        if sla_event.kind in ("warning", "breached", "escalated"):
            if from_timer:  # points an action or an import made fire are late by design
                metrics.SLA_EVENT_LATENESS.labels(sla_event.kind).observe(max(0.0, now - sla_event.at))
            if sla_event.kind == "escalated":
                notify = policies.notify(state.policy, sla_event.metric, sla_event.level)
        document = events.sla_event(state, sla_event, notify=notify)
        yield Output(catalog.sla_events, key, orjson.dumps(document), CLOUDEVENT_HEADERS)
    for forwarded in outcome.forwarded:
        log.info(
            "ticket %s: customer reply %s continues ticket %s",
            state.ticket_id,
            forwarded.action_id,
            forwarded.ticket_id,
        )
        yield Output(catalog.tickets_actions, forwarded.ticket_id.encode(), forwarded.model_dump_json().encode())
    for promotion in outcome.promotions:
        assert promotion.action.unmatched is not None
        sender, envelope = replies.promoted_request(promotion.action.unmatched, promotion.origin())
        metrics.ORPHAN_REPLIES_PROMOTED.labels(promotion.channel, promotion.reason).inc()
        log.info(
            "ticket %s: customer reply %s becomes request %s (%s)",
            state.ticket_id,
            promotion.action.action_id,
            envelope.request_id,
            promotion.reason,
        )
        yield Output(catalog.raw(envelope.channel), sender.encode(), envelope.model_dump_json().encode())
