"""Prometheus metrics of the pipeline workers (docs/metrics.md).

Names follow Prometheus conventions; labels are bounded sets (channel, type, department,
priority, metric, stage, error code) and never carry customer or ticket ids.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.registry import Collector

# Response and resolution times run from seconds (demo policies) to days (complaints).
_DURATION_BUCKETS = (
    1,
    5,
    10,
    30,
    60,
    300,
    600,
    1800,
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    24 * 3600,
    48 * 3600,
    72 * 3600,
    7 * 24 * 3600,
)
_LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300, 3600)

REQUESTS = Counter(
    "ticketflow_requests",
    "Requests that opened a ticket (duplicates excluded), by channel, type and owning department.",
    ["channel", "type", "department"],
)
REQUESTS_NORMALIZED = Counter("ticketflow_requests_normalized", "Raw records accepted by normalize.", ["channel"])
RAW_SKIPPED = Counter(
    "ticketflow_raw_records_skipped",
    "Raw records that are part of a channel's log but not a request (call events, WeChat Work events).",
    ["channel", "kind"],
)
CUSTOMERS_RESOLVED = Counter(
    "ticketflow_customers_resolved",
    "Normalized requests by how the customer id was found (profile:<contact kind>, or the fallback id, phone, …).",
    ["source"],
)
CONTACT_INDEX_UPDATES = Counter(
    "ticketflow_contact_index_updates",
    "Changes applied to the contact index from customers.profiles (put, delete, invalid profile).",
    ["kind"],
)
INVALID_RECORDS = Counter(
    "ticketflow_invalid_records",
    "Records rejected to requests.invalid, by channel, stage and error code.",
    ["channel", "stage", "error_code"],
)
DUPLICATES = Counter(
    "ticketflow_duplicates",
    "Records dropped as redeliveries or repeated submissions (same request or action id).",
    ["kind"],
)
CLASSIFIED = Counter("ticketflow_requests_classified", "Classified requests by type and urgency.", ["type", "urgency"])
ROUTED = Counter(
    "ticketflow_tickets_routed",
    "Ticket copies sent to department queues, by department and role (owner, cc, transfer).",
    ["department", "role"],
)
ACTIONS = Counter("ticketflow_ticket_actions", "Ticket actions applied, by type.", ["type"])
SLA_EVENTS = Counter(
    "ticketflow_sla_events",
    "SLA events emitted, by kind (activated, paused, resumed, warning, breached, escalated, fulfilled) and metric.",
    ["kind", "metric"],
)
SLA_WARNINGS = Counter(
    "ticketflow_sla_warnings",
    "SLA warnings emitted before a breach.",
    ["metric", "department", "channel", "priority"],
)
SLA_BREACHES = Counter("ticketflow_sla_breaches", "SLA breaches.", ["metric", "department", "channel", "priority"])
SLA_ESCALATIONS = Counter(
    "ticketflow_sla_escalations",
    "SLA escalations, by metric, ladder level and owning department.",
    ["metric", "level", "department"],
)
SLA_FULFILLED = Counter(
    "ticketflow_sla_fulfilled",
    "SLA metrics completed, within target or not (compliance = within/total).",
    ["metric", "within_target", "department", "channel", "priority"],
)
FIRST_RESPONSE_SECONDS = Histogram(
    "ticketflow_first_response_seconds",
    "Time from submission to the first human response (business time under a calendar).",
    ["department", "channel", "priority"],
    buckets=_DURATION_BUCKETS,
)
NEXT_RESPONSE_SECONDS = Histogram(
    "ticketflow_next_response_seconds",
    "Time from a customer's follow-up message to the next human reply (business time under a calendar).",
    ["department", "channel", "priority"],
    buckets=_DURATION_BUCKETS,
)
RESOLUTION_SECONDS = Histogram(
    "ticketflow_resolution_seconds",
    "Time from (re)opening to resolution per cycle, pauses excluded (business time under a calendar).",
    ["department", "channel", "priority"],
    buckets=_DURATION_BUCKETS,
)
SLA_EVENT_LATENESS = Histogram(
    "ticketflow_sla_event_lateness_seconds",
    "How long after its due moment a warning or breach was emitted.",
    ["kind"],
    buckets=_LATENESS_BUCKETS,
)
STAGE_ERRORS = Counter(
    "ticketflow_stage_errors",
    "Records a stage could not process because of an unexpected error (sent to requests.invalid).",
    ["stage"],
)
TICKETS_EXPIRED = Counter(
    "ticketflow_tickets_expired",
    "Tickets dropped from the tickets table after their retention, by final status.",
    ["status"],
)
ORPHAN_REPLIES_PROMOTED = Counter(
    "ticketflow_orphan_replies_promoted",
    "Customer replies (e-mail replies, web chat follow-ups) whose ticket was not found that became requests of "
    "their own, by channel and reason (no_ticket: none turned up within the hold — never a ticket here, or retired; "
    "ticket_closed).",
    ["channel", "reason"],
)
REPEATS = Counter(
    "ticketflow_repeat_requests",
    "Requests that repeat an earlier one of the same customer about the same issue (repeat-inquiry rate = this / requests).",
    ["channel", "type"],
)
AWAITING_REFUSED = Counter(
    "ticketflow_awaiting_refused",
    "Actions for an unknown ticket id refused because TICKETFLOW_MAX_AWAITING_TICKETS ids already hold actions "
    "for a request not seen yet (kept on requests.invalid, replayable).",
)


# Follow-ups, feedback and care (docs/followups.md).
_ANSWER_LABELS = ["type", "channel", "department"]
FOLLOWUPS_PLANNED = Counter(
    "ticketflow_followups_planned", "Surveys and callbacks planned on resolution, by kind and type.", ["kind", "type"]
)
FOLLOWUPS_SKIPPED = Counter("ticketflow_followups_skipped", "Resolved tickets not surveyed, by reason.", ["reason"])
FOLLOWUPS_SENT = Counter(
    "ticketflow_followups_sent",
    "followup.*_due events (surveys sent, callbacks due, second follow-ups), by kind, type, channel and department.",
    ["kind", *_ANSWER_LABELS],
)
FOLLOWUPS_CANCELLED = Counter(
    "ticketflow_followups_cancelled", "Follow-ups cancelled, by kind and reason.", ["kind", "reason"]
)
FOLLOWUPS_HELD = Counter("ticketflow_followups_held", "Follow-ups held (quiet hours, contact gap).", ["reason"])
FOLLOWUP_LATENESS = Histogram(
    "ticketflow_followup_lateness_seconds",
    "Seconds between a follow-up's moment and its event.",
    ["kind"],
    buckets=_LATENESS_BUCKETS,
)
FEEDBACK_ANSWERS = Counter(
    "ticketflow_feedback_answers",
    "Survey answers counted in the KPIs, by type, channel, department and satisfied (satisfaction = "
    'satisfied="true" / all; an answer replaced within the rating-change window is counted in '
    "ticketflow_feedback_replaced).",
    [*_ANSWER_LABELS, "satisfied"],
)
FEEDBACK_REPLACED = Counter(
    "ticketflow_feedback_replaced",
    "Answers replaced by a later one within the rating-change window.",
    [*_ANSWER_LABELS, "satisfied"],
)
FEEDBACK_CSAT = Counter("ticketflow_feedback_csat", "CSAT answers by score (1-5).", [*_ANSWER_LABELS, "score"])
FEEDBACK_NPS = Counter(
    "ticketflow_feedback_nps",
    "NPS answers by group (promoter 9-10, passive 7-8, detractor 0-6).",
    [*_ANSWER_LABELS, "group"],
)
FEEDBACK_OTHER = Counter(
    "ticketflow_feedback_other", "Answers not counted: redelivered, amendments, unknown tickets.", ["kind"]
)
RECOVERIES = Counter(
    "ticketflow_recoveries",
    "Dissatisfied answers that reopened or escalated a ticket, by what was done.",
    ["type", "department", "action"],
)
CARE_SENT = Counter("ticketflow_care_sent", "Care messages sent, by occasion and tier.", ["occasion", "tier"])
CARE_SUPPRESSED = Counter(
    "ticketflow_care_suppressed", "Care occasions suppressed, by occasion and reason.", ["occasion", "reason"]
)
CARE_LATENESS = Histogram(
    "ticketflow_care_lateness_seconds",
    "Seconds between a care message's moment and its event.",
    buckets=_LATENESS_BUCKETS,
)


_COLLECTORS: dict[type, Collector] = {}


def register_collector(collector: Collector) -> None:
    """Register a custom collector with the default registry, replacing an earlier one of the same
    class (an app built again in the same process, as tests do)."""
    previous = _COLLECTORS.pop(type(collector), None)
    if previous is not None:
        REGISTRY.unregister(previous)
    REGISTRY.register(collector)
    _COLLECTORS[type(collector)] = collector
