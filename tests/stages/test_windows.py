"""SLA windows: facts → hour and day windows, emitted once when closed."""

from __future__ import annotations

import orjson
import pytest

from streams.stages.windows import SlaWindowsStage
from streams.testing import (
    MemoryWindowStore,
)
from tests.stages.helpers import (
    CATALOG,
    NOW,
)


@pytest.fixture
def window_stage():
    clock = {"now": NOW.timestamp()}
    stage = SlaWindowsStage(
        CATALOG,
        store=MemoryWindowStore(),
        zone="Asia/Shanghai",
        grace_seconds=60,
        retention_seconds={"hour": 7200, "day": 86400 * 3},
        partition_of=lambda department: 0,
        clock=lambda: clock["now"],
    )
    stage.test_clock = clock
    return stage


def test_windows_count_facts_and_emit_a_closed_window_once(window_stage):
    from streams.domain import windows

    hour_ago = NOW.timestamp() - 7200
    facts = [windows.fact("received", at=hour_ago, department="product", channel="app", priority="high")] * 3
    window_stage.on_facts([(0, n, orjson.dumps(f)) for n, f in enumerate(facts)])
    (closed,) = window_stage.close_due({0})  # the hour window ended; the day window is still open
    event = orjson.loads(closed.value)
    assert closed.topic == "t.sla.windows" and closed.key == b"product"
    assert (event["type"], event["data"]["size"], event["data"]["received"]) == ("sla.window.closed", "hour", 3)
    assert window_stage.close_due({0}) == []


def test_with_deferred_writes_an_emitted_window_is_recorded_only_by_the_caller(window_stage):
    from streams.domain import windows

    hour_ago = NOW.timestamp() - 7200
    fact = windows.fact("received", at=hour_ago, department="product", channel="app", priority="high")
    counted: list[tuple[int, str]] = []
    window_stage.on_facts([(0, 0, orjson.dumps(fact))], deferred=counted)
    assert window_stage.store.written == [] and [key for _, key in counted][-1] == "__applied__|0"
    emitted: list[tuple[int, str]] = []
    (closed,) = window_stage.close_due({0}, deferred=emitted)
    assert window_stage.store.written == [] and len(emitted) == 1
    assert window_stage.close_due({0}) == []  # in memory it is emitted: not emitted twice


def test_a_late_fact_revises_a_closed_window(window_stage):
    from streams.domain import windows

    hour_ago = NOW.timestamp() - 7200
    fact = windows.fact("received", at=hour_ago, department="product", channel="app", priority="high")
    window_stage.on_facts([(0, 0, orjson.dumps(fact))])
    (first,) = window_stage.close_due({0})
    window_stage.on_facts([(0, 1, orjson.dumps(fact))])
    (revised,) = window_stage.close_due({0})
    assert orjson.loads(revised.value)["data"]["received"] == 2
    assert orjson.loads(revised.value)["id"] != orjson.loads(first.value)["id"]


def test_windows_past_retention_are_dropped_and_others_kept(window_stage):
    from streams.domain import windows

    old = windows.fact("received", at=NOW.timestamp() - 5 * 3600, department="ops", channel="app", priority="low")
    window_stage.on_facts([(0, 0, orjson.dumps(old))])
    window_stage.close_due({0})
    assert [key.split("|")[0] for key in window_stage.store.deleted] == ["hour"]
    assert [w["size"] for w in window_stage.current("ops")] == ["day"]


def test_windows_of_partitions_not_owned_are_left_alone(window_stage):
    from streams.domain import windows

    fact = windows.fact("received", at=NOW.timestamp() - 7200, department="product", channel="app", priority="high")
    window_stage.on_facts([(0, 0, orjson.dumps(fact))])
    assert window_stage.close_due({1, 2}) == []


def test_facts_read_again_after_a_restart_are_not_counted_twice(window_stage):
    from streams.domain import windows

    fact = orjson.dumps(
        windows.fact("received", at=NOW.timestamp() - 7200, department="ops", channel="app", priority="low")
    )
    window_stage.on_facts([(0, 10, fact), (0, 11, fact)])
    window_stage.on_facts([(0, 10, fact), (0, 11, fact), (0, 12, fact)])  # 10 and 11 again after a crash
    (hour,) = [w for w in window_stage.current("ops") if w["size"] == "hour"]
    assert hour["received"] == 3
