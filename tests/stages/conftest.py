"""Fixtures of the stage tests."""

from __future__ import annotations

import pytest

from streams.domain.policies import PolicyFile
from tests.stages.helpers import NOW, lifecycle_owning_partition_0


@pytest.fixture
def short_policies():
    return PolicyFile.model_validate(
        {"warn_at": [0.5], "policies": [{"name": "short", "targets": {"first_response": "10s", "resolution": "60s"}}]}
    )


@pytest.fixture
def lifecycle(routing, short_policies):
    clock = {"now": NOW.timestamp()}
    stage = lifecycle_owning_partition_0(routing, short_policies, clock=lambda: clock["now"])
    stage.test_clock = clock
    return stage
