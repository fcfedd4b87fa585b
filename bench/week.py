"""A generated week of customer-service traffic, as the pipeline's topics hold it.

`python -m bench.week --broker HOST:PORT [--prefix P] [--from DATE] [--days 7] [--per-day 2000]`
writes, for every day of the period and of the period before it (so the review has something
to compare with), the records the pipeline would have produced: `requests.classified`,
`dept.<department>` (routed tickets), `sla.events` (activated, warnings, fulfilled, breached,
escalated, reopened cycles), `sla.windows` (closed hour and day windows, counted with the
windows code of the pipeline), `followups` (survey due) and `feedback` (survey answers).
Record timestamps are the moments the records are about. The same seed gives the same records.

Targets follow streams/config/policies.yaml (complaint grades, urgent, app, high, low,
routine), on a 24/7 clock. Volumes follow a day's shape (busy late morning and evening);
one day of the week is slow (staff short), so the trends show something to explain.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson

from bench.week_produce import produce
from bench.week_shape import (
    ASPECTS,
    CHANNEL_WEIGHTS,
    COMMENTS,
    DEPARTMENT,
    RESPONSE_MEDIAN_MIN,
    TEXTS,
    TYPE_WEIGHTS,
    WEEKDAY_LOAD,
    ZONE,
    targets,
    weighted,
)
from streams import ids
from streams.domain import windows
from streams.domain.events import cloudevent, iso
from streams.models import CanonicalRequest, Classification, ClassifiedRequest, CustomerRef


@dataclass
class Record:
    topic: str  # without the prefix
    key: bytes
    value: bytes
    at: float  # epoch seconds: the record's timestamp


class Week:
    """Generates the records of `days` days from `first`, and of the same number of days before."""

    def __init__(
        self,
        first: date,
        days: int,
        per_day: int,
        seed: int = 7,
        *,
        feedback: bool = True,
        previous_per_day: int | None = None,
        as_of: float | None = None,
    ) -> None:
        self.as_of = time.time() if as_of is None else as_of
        self.first, self.days, self.per_day, self.seed, self.feedback = first, days, per_day, seed, feedback
        self.previous_per_day = per_day if previous_per_day is None else previous_per_day
        self.zone = ZoneInfo(ZONE)
        self.window_aggregates: dict[str, dict] = {}
        self.customers = 0

    def records(self) -> Iterator[Record]:
        """Every record, except those about moments after `as_of` (they have not happened yet)."""
        for record in self._all():
            if record.at <= self.as_of:
                yield record

    def _all(self) -> Iterator[Record]:
        rng = random.Random(self.seed)
        start_day = self.first - timedelta(days=self.days)
        for offset in range(self.days * 2):
            day = start_day + timedelta(days=offset)
            average = self.previous_per_day if offset < self.days else self.per_day
            count = round(average * WEEKDAY_LOAD[day.weekday()] / (sum(WEEKDAY_LOAD) / 7))
            slow = 1.0 if offset % 7 != 3 else 2.2  # one slow day a week
            midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp()
            moments = sorted(midnight + self._moment_of_day(rng) for _ in range(count))
            for number, submitted in enumerate(moments):
                yield from self._ticket(rng, f"{day.isoformat()}-{number:06d}", submitted, slow)
        yield from self._windows()

    @staticmethod
    def _moment_of_day(rng: random.Random) -> float:
        # Two humps: late morning and evening, a quiet night.
        hour = rng.choice((rng.gauss(10.5, 1.8), rng.gauss(15.0, 2.0), rng.gauss(20.5, 1.5)))
        return min(86399.0, max(0.0, hour * 3600))

    def _ticket(self, rng: random.Random, key: str, submitted: float, slow: float) -> Iterator[Record]:
        channel = weighted(rng, CHANNEL_WEIGHTS)
        kind = weighted(rng, TYPE_WEIGHTS)
        tier = (
            "vip" if channel == "vip" or rng.random() < 0.03 else rng.choice(("regular", "regular", "regular", "new"))
        )
        grade = aspects = None
        if kind == "complaint":
            grade = rng.choices((1, 2, 3), weights=(6, 34, 60))[0]
            aspects = [weighted(rng, ASPECTS)] + ([weighted(rng, ASPECTS)] if rng.random() < 0.25 else [])
            aspects = sorted(set(aspects))
        urgency = (
            "urgent"
            if grade == 1 or (kind == "product_issue" and rng.random() < 0.3)
            else "low"
            if kind == "suggestion"
            else rng.choices(("high", "normal"), weights=(25, 75))[0]
        )
        department = "complaint_taskforce" if grade == 1 else ("vip_manager" if tier == "vip" else DEPARTMENT[kind])
        policy, first_target, resolution_target = targets(channel, kind, urgency, grade, tier)
        ticket_id = ids.ticket_id(channel, key)
        customer = f"cust-{rng.randrange(max(50, self.per_day * 3)):07d}"
        repeat = rng.random() < (0.045 if kind == "complaint" else 0.06)
        request = CanonicalRequest(
            request_id=ids.request_id(channel, key),
            ticket_id=ticket_id,
            channel=channel,
            customer_id=customer,
            customer=CustomerRef(id=customer, tier=tier if tier == "vip" else None),
            text=rng.choice(TEXTS[kind]),
            language="zh",
            submitted_at=datetime.fromtimestamp(submitted, self.zone),
            received_at=datetime.fromtimestamp(submitted + 1, self.zone),
            idempotency_key=key,
        )
        classification = Classification(
            type=kind,
            urgency=urgency,
            complaint_grade=grade,
            sentiment="negative" if kind == "complaint" else "neutral",
            aspects=aspects or [],
            segment=tier,
            confidence=round(rng.uniform(0.6, 0.99), 3),
            reasons=[f"type {kind}"],
            model_version="generated-week",
            repeat_of=ids.ticket_id(channel, f"earlier-{key}") if repeat else None,
        )
        classified = ClassifiedRequest(request=request, classification=classification)
        yield Record("requests.classified", ticket_id.encode(), classified.model_dump_json().encode(), submitted + 1)
        where = {
            "ticket_id": ticket_id,
            "department": department,
            "handling_department": department,
            "channel": channel,
            "priority": urgency,
            "type": kind,
            "complaint_grade": grade,
            "customer_id": customer,
            "policy": policy,
        }
        yield self._routed(ticket_id, "owner", department, where, classified, submitted + 2)
        if tier == "vip" or (kind == "complaint" and grade != 1 and rng.random() < 0.2):
            yield self._routed(
                ticket_id, "cc", DEPARTMENT[kind] if tier == "vip" else "operations", where, classified, submitted + 2
            )
        self._fact("received", submitted, where)
        # first response
        if first_target is not None:
            yield self._sla(where, "activated", "first_response", 1, 0, submitted + first_target, submitted)
            median = RESPONSE_MEDIAN_MIN[channel] * 60 * slow * (0.5 if urgency == "urgent" else 1.0)
            elapsed = min(median * math.exp(rng.gauss(0, 0.9)), first_target * 6)
            answered = rng.random() > 0.015
            yield from self._clock(
                rng, where, "first_response", 1, submitted, first_target, elapsed if answered else None
            )
        # resolution (and a reopened cycle for some)
        yield self._sla(where, "activated", "resolution", 1, 0, submitted + resolution_target, submitted)
        resolution = min(resolution_target * 0.3 * slow * math.exp(rng.gauss(0, 0.7)), resolution_target * 3)
        resolved = rng.random() > 0.05
        yield from self._clock(
            rng, where, "resolution", 1, submitted, resolution_target, resolution if resolved else None
        )
        if not resolved:
            return
        resolved_at = submitted + resolution
        if rng.random() < 0.04:
            reopened_at = resolved_at + rng.uniform(3600, 86400)
            yield self._sla(where, "activated", "resolution", 2, 0, reopened_at + resolution_target, reopened_at)
            again = resolution_target * 0.2 * math.exp(rng.gauss(0, 0.6))
            yield from self._clock(
                rng, where, "resolution", 2, reopened_at, resolution_target, again if rng.random() < 0.8 else None
            )
        survey_at = resolved_at + 86400
        survey = cloudevent(
            event_id=ids.event_id(ticket_id, "survey_due", 1),
            source="/ticketflow/followup",
            event_type="followup.survey_due",
            time=survey_at,
            subject=ticket_id,
            data={"ticket_id": ticket_id, "channel": channel, "via": channel, "due_at": iso(survey_at)},
        )
        yield Record("followups", ticket_id.encode(), orjson.dumps(survey), survey_at)
        if self.feedback and rng.random() < 0.45:
            late = resolution > resolution_target
            csat = rng.choices((5, 4, 3, 2, 1), weights=(30, 25, 20, 15, 10) if late else (62, 30, 5, 2, 1))[0]
            nps = min(10, max(0, int(round(rng.gauss(csat * 2 - 0.5, 1.3)))))
            answered_at = survey_at + rng.uniform(600, 36 * 3600)
            answer = {
                "ticket_id": ticket_id,
                "csat": csat,
                "nps": nps,
                "comment": COMMENTS[csat],
                "answered_at": iso(answered_at),
                "channel": channel,
            }
            yield Record("feedback", ticket_id.encode(), orjson.dumps(answer), answered_at)

    def _clock(
        self,
        rng: random.Random,
        where: dict,
        metric: str,
        cycle: int,
        started: float,
        target: float,
        elapsed: float | None,
    ) -> Iterator[Record]:
        due = started + target
        for share in (0.75, 0.9):
            if elapsed is None or elapsed >= target * share:
                level = 1 if share == 0.75 else 2
                yield self._sla(where, "warning", metric, cycle, level, due, started + target * share)
        if elapsed is None or elapsed > target:
            yield self._sla(where, "breached", metric, cycle, 0, due, due)
            self._fact("breached", due, where, metric=metric)
            yield self._sla(where, "escalated", metric, cycle, 1, due, due, notify=["senior_agent"])
            if elapsed is None or elapsed > target + 7200:
                yield self._sla(where, "escalated", metric, cycle, 2, due, due + 7200, notify=["supervisor"])
        if elapsed is not None:
            at = started + elapsed
            yield self._sla(where, "fulfilled", metric, cycle, 0, due, at, within=elapsed <= target, elapsed=elapsed)
            if cycle == 1:
                self._fact(
                    "responded" if metric == "first_response" else "resolved",
                    at,
                    where,
                    within_target=elapsed <= target,
                    elapsed=elapsed,
                )

    def _sla(
        self,
        where: dict,
        kind: str,
        metric: str,
        cycle: int,
        level: int,
        due: float,
        at: float,
        *,
        within: bool | None = None,
        elapsed: float | None = None,
        notify: list[str] | None = None,
    ) -> Record:
        data = {
            "ticket_id": where["ticket_id"],
            "metric": metric,
            "cycle": cycle,
            "level": level,
            "policy": where["policy"],
            "due_at": iso(due),
            "at": iso(at),
            "emitted_at": iso(at),
            "department": where["department"],
            "handling_department": where["handling_department"],
            "channel": where["channel"],
            "priority": where["priority"],
            "type": where["type"],
            "complaint_grade": where["complaint_grade"],
            "customer_id": where["customer_id"],
        }
        delta = due - at
        data["remaining_seconds" if delta >= 0 else "overdue_seconds"] = round(abs(delta), 3)
        if kind in ("warning", "breached", "escalated"):
            data["late"] = False
        if notify is not None:
            data["notify"] = notify
        if kind == "fulfilled":
            data["within_target"], data["elapsed_seconds"] = within, round(elapsed or 0.0, 3)
        event = cloudevent(
            event_id=ids.event_id(where["ticket_id"], metric, cycle, kind, level),
            source="/ticketflow/lifecycle",
            event_type=f"sla.{kind}",
            time=at,
            subject=where["ticket_id"],
            data=data,
        )
        return Record("sla.events", where["ticket_id"].encode(), orjson.dumps(event), at)

    def _routed(
        self, ticket_id: str, role: str, department: str, where: dict, classified: ClassifiedRequest, at: float
    ) -> Record:
        request = classified.request
        data = {
            "ticket_id": ticket_id,
            "request_id": request.request_id,
            "role": role,
            "department": department,
            "owner_department": where["department"],
            "handling_department": where["department"],
            "cc": [department] if role == "cc" else [],
            "customer_id": where["customer_id"],
            "channel": where["channel"],
            "type": where["type"],
            "priority": where["priority"],
            "complaint_grade": where["complaint_grade"],
            "policy": where["policy"],
            "submitted_at": iso(request.submitted_at.timestamp()),
            "due": {},
            "routing_reasons": [f"type {where['type']} → {where['department']}"],
            "customer": request.customer.model_dump(exclude_none=True),
            "subject": None,
            "text": request.text,
            "language": request.language,
            "classification": classified.classification.model_dump(),
        }
        event = cloudevent(
            event_id=ids.event_id(ticket_id, "routed", department),
            source="/ticketflow/route",
            event_type="ticket.routed",
            time=at,
            subject=ticket_id,
            data=data,
        )
        return Record(f"dept.{department}", ticket_id.encode(), orjson.dumps(event), at)

    def _fact(self, kind: str, at: float, where: dict, **extra: object) -> None:
        if at > self.as_of:
            return
        document = windows.fact(
            kind, at=at, department=where["department"], channel=where["channel"], priority=where["priority"], **extra
        )  # type: ignore[arg-type]
        for key in windows.window_keys(document, self.zone):
            encoded = key.encode()
            aggregate = self.window_aggregates.get(encoded)
            if aggregate is None:
                aggregate = self.window_aggregates[encoded] = windows.empty()
            windows.add(aggregate, document)

    def _windows(self) -> Iterator[Record]:
        """Every window closed once, as the windows stage emits it (sla.window.closed)."""
        for encoded in sorted(self.window_aggregates):
            key = windows.WindowKey.decode(encoded)
            aggregate = self.window_aggregates[encoded]
            summary = windows.summary(key, aggregate, self.zone)
            summary["start"], summary["end"] = iso(summary["start"]), iso(summary["end"])
            end = key.end(self.zone)
            event = cloudevent(
                event_id=ids.event_id("window", encoded, aggregate["revision"]),
                source="/ticketflow/sla-windows",
                event_type="sla.window.closed",
                time=end,
                subject=key.department,
                data=summary,
            )
            yield Record("sla.windows", key.department.encode(), orjson.dumps(event), end + 60)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.week", description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", required=True, help="bootstrap servers, host:port")
    parser.add_argument("--prefix", default="", help="topic prefix (TICKETFLOW_TOPIC_PREFIX)")
    parser.add_argument("--from", dest="first", default=None, help="first day of the week (default: 7 days ago)")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-day", type=int, default=2000, help="requests per day, on average over a week")
    parser.add_argument("--previous-per-day", type=int, default=None, help="requests per day in the period before")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-feedback", action="store_true", help="write no survey answers (feedback stays empty)")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args(argv)
    first = date.fromisoformat(args.first) if args.first else date.today() - timedelta(days=args.days + 3)
    week = Week(
        first, args.days, args.per_day, args.seed, feedback=not args.no_feedback, previous_per_day=args.previous_per_day
    )
    started = time.monotonic()
    written = produce(
        args.broker, args.prefix, week.records(), args.partitions, log=lambda line: print(line, file=sys.stderr)
    )
    last = first + timedelta(days=args.days - 1)
    print(
        f"wrote {sum(written.values()):,} records in {time.monotonic() - started:.0f}s: "
        + ", ".join(f"{topic} {count:,}" for topic, count in sorted(written.items()))
    )
    print(
        f"report: ticketflow report --broker {args.broker} --from {first} --to {last} --out week.html"
        + (f"   (TICKETFLOW_TOPIC_PREFIX={args.prefix})" if args.prefix else "")
    )


if __name__ == "__main__":
    main()
