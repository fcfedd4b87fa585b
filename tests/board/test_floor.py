"""The board's per-partition figures, kept in step with the lifecycle stage (docs/board.md)."""

from __future__ import annotations

import json
from datetime import timedelta

from streams.board.floor import AT_RISK, ON_TRACK, OVERDUE, FloorTracker, entry_of
from streams.domain import sla
from streams.domain.tickets import TicketState
from streams.models import TicketAction
from tests.stages.helpers import NOW, lifecycle_owning_partition_0, raw_record, through_classify

T0 = NOW.timestamp()


def ticket(
    ticket_id,
    *,
    status="open",
    department="after_sales",
    priority="high",
    submitted=T0,
    fired=(),
    stopped=False,
    customer_id="CUS-secret",
) -> TicketState:
    clock = sla.Clock(
        metric="first_response",
        started_at=submitted,
        target=10,
        due_at=submitted + 10,
        fired=list(fired),
        stopped_at=submitted + 1 if stopped else None,
    )
    return TicketState(
        ticket_id=ticket_id,
        status=status,
        department=department,
        urgency=priority,
        submitted_at=submitted,
        customer_id=customer_id,
        clocks={"first_response": clock},
    )


def tracker(*partitions) -> FloorTracker:
    floor = FloorTracker()
    floor.assign(partitions or [0])
    return floor


def group(floor, department="after_sales", priority="high", partition=0):
    return next(
        g for g in floor.part(partition)["groups"] if (g["department"], g["priority"]) == (department, priority)
    )


def test_a_ticket_is_on_track_then_at_risk_after_a_warning_then_overdue_after_a_breach():
    assert entry_of(ticket("A")).level == ON_TRACK
    assert entry_of(ticket("A", fired=["warning:50"])).level == AT_RISK
    overdue = entry_of(ticket("A", fired=["warning:50", "breached"]))
    assert overdue.level == OVERDUE and overdue.overdue_since == T0 + 10
    # A clock that stopped (answered late) no longer makes the ticket overdue; closed ones are off the board.
    assert entry_of(ticket("A", fired=["breached"], stopped=True)).level == ON_TRACK
    assert entry_of(ticket("A", status="resolved")) is None and entry_of(None) is None


def test_counts_move_with_each_change_and_groups_disappear_when_empty():
    floor = tracker()
    floor.update(0, "A", ticket("A"))
    floor.update(0, "B", ticket("B", submitted=T0 + 5))
    floor.update(0, "A", ticket("A", fired=["warning:50"]))
    floor.update(0, "B", ticket("B", submitted=T0 + 5, fired=["warning:50", "breached"]))
    assert {k: group(floor)[k] for k in ("open", "at_risk", "overdue", "waiting_on_customer")} == {
        "open": 2,
        "at_risk": 1,
        "overdue": 1,
        "waiting_on_customer": 0,
    }
    assert floor.part(0)["overdue_tickets"] == [
        {"ticket_id": "B", "department": "after_sales", "priority": "high", "overdue_since": T0 + 15}
    ]
    floor.update(0, "A", ticket("A", status="closed"))
    floor.update(0, "B", None)
    assert floor.part(0) == {"groups": [], "overdue_tickets": []}


def test_oldest_waiting_skips_tickets_waiting_on_the_customer_and_follows_changes():
    floor = tracker()
    for number in range(5):
        floor.update(0, f"T{number}", ticket(f"T{number}", submitted=T0 + number))
    assert group(floor)["oldest_waiting"] == {"ticket_id": "T0", "since": T0}
    floor.update(0, "T0", ticket("T0", status="pending"))
    assert group(floor)["oldest_waiting"]["ticket_id"] == "T1" and group(floor)["waiting_on_customer"] == 1
    floor.update(0, "T1", ticket("T1", department="product", submitted=T0 + 1))
    assert group(floor)["oldest_waiting"]["ticket_id"] == "T2"
    assert group(floor, "product")["oldest_waiting"]["ticket_id"] == "T1"
    floor.update(0, "T0", ticket("T0"))  # the customer answered: back on the floor
    assert group(floor)["oldest_waiting"]["ticket_id"] == "T0"


def test_the_waiting_heap_stays_bounded_when_tickets_flip_many_times():
    floor = tracker()
    floor.update(0, "A", ticket("A"))
    for _ in range(1000):
        floor.update(0, "A", ticket("A", status="pending"))
        floor.update(0, "A", ticket("A"))
    heap = floor._partitions[0].waiting[("after_sales", "high")]
    assert len(heap) <= 40 and group(floor)["oldest_waiting"]["ticket_id"] == "A"


def test_only_owned_partitions_are_kept_and_contact_data_never_is():
    floor = tracker(0, 1)
    floor.update(0, "A", ticket("A"))
    floor.update(1, "B", ticket("B", fired=["breached"]))
    floor.update(2, "C", ticket("C"))  # not owned: ignored
    assert floor.partitions() == [0, 1] and floor.part(2) is None
    floor.drop([1])
    assert floor.partitions() == [0]
    assert "CUS-secret" not in json.dumps(floor.part(0))


def test_the_lifecycle_stage_keeps_the_board_in_step_through_timer_actions_and_rebalance(routing, classifier):
    from streams.domain.policies import PolicyFile

    policies = PolicyFile.model_validate(
        {"warn_at": [0.5], "policies": [{"name": "short", "targets": {"first_response": "10s", "resolution": "60s"}}]}
    )
    stage = lifecycle_owning_partition_0(routing, policies)
    stage.floor.assign([0])
    classified = through_classify(classifier, raw_record())
    ticket_id = classified.key.decode()
    stage.on_classified(classified.value, 0)
    (row,) = stage.floor.part(0)["groups"]
    assert (row["department"], row["open"], row["at_risk"], row["overdue"]) == ("after_sales", 1, 0, 0)
    stage.fire_due(0, T0 + 5.0)
    assert stage.floor.part(0)["groups"][0]["at_risk"] == 1
    stage.fire_due(0, T0 + 10.0)
    part = stage.floor.part(0)
    assert part["groups"][0]["overdue"] == 1 and part["overdue_tickets"][0]["ticket_id"] == ticket_id
    reply = TicketAction(action_id="A1", ticket_id=ticket_id, type="reply", by="agent", at=NOW + timedelta(seconds=12))
    stage.on_action(reply.model_dump_json().encode(), 0)
    assert stage.floor.part(0)["groups"][0]["overdue"] == 0  # answered: the resolution clock has not warned yet
    stage.revoke([0])
    assert stage.floor.part(0) is None
    list(stage.rebuild_in_steps({0}, lambda _: 0))
    assert stage.floor.part(0)["groups"][0]["open"] == 1 and "13800000000" not in json.dumps(stage.floor.part(0))
