"""The KPIs, computed from per-ticket facts (pure: no broker, no rendering).

Times are the SLA clock's own measure (`elapsed_seconds` of `sla.fulfilled`: business time
under a policy with a calendar, pauses excluded); "hotline answered ≤ 10 min" and "app
replied ≤ 30 min" are wall-clock, from submission to the first human response.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from streams.report.facts import TicketFacts

CSAT_MIN_ANSWERS_PER_TYPE = 5  # a request type needs this many answers to count in csat_by_type_min


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile of sorted values (nearest rank)."""
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


def first_response_measured(ticket: TicketFacts) -> bool:
    return ticket.first_response_within is not None or _breached(ticket, "first_response")


def _breached(ticket: TicketFacts, metric: str) -> bool:
    return bool(ticket.breaches) and (metric, 1) in ticket.breaches  # type: ignore[operator]


def answered(ticket: TicketFacts) -> bool:
    """Answered or replied to: a human first response, or resolved."""
    return ticket.first_response_at is not None or ticket.resolved_at is not None


def wall_response(ticket: TicketFacts) -> float | None:
    if ticket.first_response_at is None:
        return None
    return ticket.first_response_at - ticket.submitted


def channel_answer_rates(tickets: Iterable[TicketFacts]) -> dict[str, tuple[int, int]]:
    """channel -> (answered, tickets)."""
    found: dict[str, list[int]] = {}
    for ticket in tickets:
        entry = found.setdefault(ticket.channel, [0, 0])
        entry[1] += 1
        if answered(ticket):
            entry[0] += 1
    return {channel: (done, total) for channel, (done, total) in found.items()}


def csat_by_type(tickets: Iterable[TicketFacts]) -> dict[str, tuple[int, int]]:
    """type -> (satisfied answers (4–5), answers)."""
    found: dict[str, list[int]] = {}
    for ticket in tickets:
        if ticket.csat is None:
            continue
        entry = found.setdefault(ticket.type, [0, 0])
        entry[1] += 1
        if ticket.csat >= 4:
            entry[0] += 1
    return {kind: (good, total) for kind, (good, total) in found.items()}


def _within(tickets: list[TicketFacts], limit: float) -> float | None:
    if not tickets:
        return None
    done = 0
    for ticket in tickets:
        wall = wall_response(ticket)
        if wall is not None and wall <= limit:
            done += 1
    return done / len(tickets)


def compute(tickets: Sequence[TicketFacts]) -> dict[str, float | None]:
    """Every KPI of streams/report/targets.py over a set of tickets."""
    n = len(tickets)
    first: list[float] = []
    resolution: list[float] = []
    resolved = complaints = complaints_resolved = repeats = repeat_complaints = 0
    fr_measured = fr_in_time = res_measured = res_in_time = 0
    breached = escalated = reopened = 0
    csats: list[int] = []
    nps: list[int] = []
    surveys = surveys_answered = 0
    for t in tickets:
        if t.first_response_elapsed is not None:
            first.append(t.first_response_elapsed)
        if t.resolution_elapsed is not None:
            resolution.append(t.resolution_elapsed)
        is_resolved = t.resolved_at is not None or t.resolutions > 0
        resolved += is_resolved
        if t.type == "complaint":
            complaints += 1
            complaints_resolved += is_resolved
            repeat_complaints += t.repeat
        repeats += t.repeat
        if t.first_response_within is not None:
            fr_measured += 1
            fr_in_time += bool(t.first_response_within)
        elif _breached(t, "first_response"):
            fr_measured += 1
        if t.resolution_within is not None:
            res_measured += 1
            res_in_time += bool(t.resolution_within)
        elif _breached(t, "resolution"):
            res_measured += 1
        breached += bool(t.breaches)
        escalated += t.escalation_level > 0
        reopened += t.reopened > 0
        if t.csat is not None:
            csats.append(t.csat)
        if t.nps is not None:
            nps.append(t.nps)
        if t.survey_due:
            surveys += 1
            surveys_answered += t.csat is not None or t.nps is not None
    first.sort()
    by_channel = channel_answer_rates(tickets)
    by_type = csat_by_type(tickets)
    type_rates = [good / total for good, total in by_type.values() if total >= CSAT_MIN_ANSWERS_PER_TYPE]
    phone = [t for t in tickets if t.channel == "phone"]
    app = [t for t in tickets if t.channel == "app"]
    return {
        "requests": float(n),
        "first_response_mean": mean(first),
        "first_response_median": quantile(first, 0.5),
        "first_response_p90": quantile(first, 0.9),
        "resolution_mean": mean(resolution),
        "resolution_rate": ratio(resolved, n),
        "complaint_resolution_rate": ratio(complaints_resolved, complaints),
        "first_response_compliance": ratio(fr_in_time, fr_measured),
        "resolution_compliance": ratio(res_in_time, res_measured),
        "breach_rate": ratio(breached, n),
        "escalation_rate": ratio(escalated, n),
        "complaint_rate": ratio(complaints, n),
        "repeat_inquiry_rate": ratio(repeats, n),
        "repeat_complaint_rate": ratio(repeat_complaints, complaints),
        "reopen_rate": ratio(reopened, resolved),
        "csat": ratio(sum(1 for value in csats if value >= 4), len(csats)),
        "csat_mean": mean(csats),
        "csat_by_type_min": min(type_rates) if type_rates else None,
        "nps": (100 * (sum(1 for v in nps if v >= 9) - sum(1 for v in nps if v <= 6)) / len(nps)) if nps else None,
        "survey_response_rate": ratio(surveys_answered, surveys),
        "answer_rate_min": min((done / total for done, total in by_channel.values() if total), default=None),
        "hotline_answered_10min": _within(phone, 600),
        "app_replied_30min": _within(app, 1800),
    }


def counts(tickets: Sequence[TicketFacts]) -> dict[str, int]:
    """Plain counts the report shows next to the rates (and a test checks against the topics)."""
    return {
        "requests": len(tickets),
        "complaints": sum(1 for t in tickets if t.type == "complaint"),
        "first_responses": sum(1 for t in tickets if t.first_response_at is not None),
        "resolved": sum(1 for t in tickets if t.resolved_at is not None or t.resolutions > 0),
        "breached": sum(1 for t in tickets if t.breaches),
        "escalated": sum(1 for t in tickets if t.escalation_level > 0),
        "reopened": sum(1 for t in tickets if t.reopened > 0),
        "repeats": sum(1 for t in tickets if t.repeat),
        "csat_answers": sum(1 for t in tickets if t.csat is not None),
        "nps_answers": sum(1 for t in tickets if t.nps is not None),
        "surveys_due": sum(1 for t in tickets if t.survey_due),
        "routed_cc": sum(t.cc for t in tickets),
        "transferred": sum(1 for t in tickets if t.transferred),
    }
