"""Fixtures of the stage tests."""

from __future__ import annotations

import pytest

from streams.domain.policies import PolicyFile
from streams.stages.lifecycle import LifecycleStage
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.testing import (
    MemoryTicketStore,
)
from tests.stages.helpers import (
    CATALOG,
    NOW,
)


@pytest.fixture
def short_policies():
    return PolicyFile.model_validate(
        {"warn_at": [0.5], "policies": [{"name": "short", "targets": {"first_response": "10s", "resolution": "60s"}}]}
    )


@pytest.fixture
def lifecycle(routing, short_policies):
    clock = {"now": NOW.timestamp()}
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    stage = LifecycleStage(
        CATALOG,
        routing=routing,
        policies=short_policies,
        store=MemoryTicketStore(),
        index=index,
        open_tickets=counts,
        clock=lambda: clock["now"],
    )
    stage.test_clock = clock
    return stage
