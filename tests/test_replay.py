"""Replaying a ticket's log under two policy files and comparing the clocks (no broker)."""

from __future__ import annotations

from datetime import timedelta

from streams.domain.policies import PolicyFile
from streams.models import TicketAction
from streams.replay import LogRecord, compare, replay_ticket
from tests.domain.tickets.helpers import SUBMITTED, T, classified

LOOSE = PolicyFile.model_validate(
    {"policies": [{"name": "loose", "targets": {"first_response": "1h", "resolution": "24h"}}]}
)
TIGHT = PolicyFile.model_validate(
    {"policies": [{"name": "tight", "targets": {"first_response": "10m", "resolution": "24h"}}]}
)


def log(*actions: tuple[str, float]) -> list[LogRecord]:
    records = [LogRecord(T, 0, 0, "request", classified().model_dump_json().encode())]
    for number, (kind, seconds) in enumerate(actions, start=1):
        action = TicketAction(
            action_id=f"A{number}", ticket_id="TKT-1", type=kind, by="agent", at=SUBMITTED + timedelta(seconds=seconds)
        )
        records.append(LogRecord(T + seconds, 1, number, "action", action.model_dump_json().encode()))
    return records


def test_replay_gives_the_state_the_lifecycle_would_hold(routing):
    state, last_action, repairs = replay_ticket(log(("reply", 30)), routing=routing, policies=LOOSE, now=T + 60)
    assert state.first_response_at == T + 30 and last_action == "A1" and repairs == 0


def test_a_tighter_policy_moves_deadlines_and_adds_breaches(routing):
    records = log()
    now_state, _, _ = replay_ticket(records, routing=routing, policies=LOOSE, now=T + 1800)
    new_state, _, _ = replay_ticket(records, routing=routing, policies=TIGHT, now=T + 1800)
    change = compare("TKT-1", now_state, new_state)
    assert change.policy == ("loose", "tight")
    assert change.moved == {"first_response": -3000.0}
    assert change.new_breaches == ["first_response"]


def test_an_answered_ticket_does_not_change_its_stopped_clock(routing):
    records = log(("reply", 60))
    now_state, _, _ = replay_ticket(records, routing=routing, policies=LOOSE, now=T + 1800)
    new_state, _, _ = replay_ticket(records, routing=routing, policies=TIGHT, now=T + 1800)
    change = compare("TKT-1", now_state, new_state)
    assert "first_response" not in change.moved and change.new_breaches == []


def test_same_policy_means_no_change(routing):
    records = log(("pending", 30), ("customer_reply", 300))
    one, _, _ = replay_ticket(records, routing=routing, policies=LOOSE, now=T + 4000)
    two, _, _ = replay_ticket(records, routing=routing, policies=LOOSE, now=T + 4000)
    assert compare("TKT-1", one, two) is None
