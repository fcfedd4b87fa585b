import orjson

from streams.report.facts import CURRENT, PREVIOUS
from tests.report.conftest import fold, period


def _expected(records, bounds):  # noqa: ANN001, ANN202
    """Counts straight from the generated records."""
    start, end = bounds
    tickets = {}
    for record in records:
        if record.topic == "requests.classified":
            document = orjson.loads(record.value)
            from datetime import datetime

            submitted = datetime.fromisoformat(document["request"]["submitted_at"]).timestamp()
            if start <= submitted < end:
                tickets[document["request"]["ticket_id"]] = document["classification"]["type"]
    breached, escalated, resolved = set(), set(), set()
    for record in records:
        if record.topic != "sla.events":
            continue
        event = orjson.loads(record.value)
        ticket = event["data"]["ticket_id"]
        if ticket not in tickets:
            continue
        if event["type"] == "sla.breached":
            breached.add(ticket)
        elif event["type"] == "sla.escalated":
            escalated.add(ticket)
        elif event["type"] == "sla.fulfilled" and event["data"]["metric"] == "resolution":
            resolved.add(ticket)
    return tickets, breached, escalated, resolved


def test_folded_facts_match_the_records(week_records) -> None:  # noqa: ANN001
    folder = fold(week_records)
    for which, bounds in ((CURRENT, period().bounds()), (PREVIOUS, period().previous().bounds())):
        tickets, breached, escalated, resolved = _expected(week_records, bounds)
        mine = {t.ticket_id: t for t in folder.tickets.values() if t.period == which}
        assert set(mine) == set(tickets) and len(mine) > 200
        assert {t for t, f in mine.items() if f.breaches} == breached
        assert {t for t, f in mine.items() if f.escalation_level} == escalated
        assert {t for t, f in mine.items() if f.resolutions} == resolved
        assert all(mine[t].type == kind for t, kind in tickets.items())
        assert all(f.department for f in mine.values())


def test_folding_twice_changes_nothing(week_records) -> None:  # noqa: ANN001
    once = fold(week_records)
    twice = fold(week_records + week_records)  # every record redelivered
    assert twice.duplicates == once.duplicates + len(once.tickets)
    for ticket_id, facts in once.tickets.items():
        other = twice.tickets[ticket_id]
        for name in (
            "first_response_at",
            "resolved_at",
            "resolutions",
            "breaches",
            "escalation_level",
            "reopened",
            "csat",
            "nps",
            "department",
            "survey_due",
        ):
            assert getattr(other, name) == getattr(facts, name), (ticket_id, name)


def test_records_outside_both_periods_are_ignored(week_records) -> None:  # noqa: ANN001
    from datetime import timedelta

    from streams.report.review import Period

    later = Period(period().last + timedelta(days=30), period().last + timedelta(days=32), period().zone)
    folder = fold(week_records, later)
    assert folder.tickets == {}
    assert folder.counts.used == {}
