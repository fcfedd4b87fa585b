"""Fixtures of the ticket tests."""

from __future__ import annotations

import pytest

from streams.domain.policies import PolicyFile


@pytest.fixture
def short_policies():
    return PolicyFile.model_validate(
        {
            "warn_at": [0.5],
            "escalation": [
                {"level": 1, "after_breach": "0m", "notify": ["senior_agent"]},
                {"level": 2, "after_breach": "100s", "notify": ["supervisor"]},
            ],
            "policies": [
                {
                    "name": "grade-1",
                    "match": {"type": "complaint", "complaint_grade": 1},
                    "targets": {"first_response": "50s", "resolution": "500s"},
                    "escalation": [{"level": 3, "after_breach": "0m", "notify": ["complaint_taskforce", "management"]}],
                },
                {
                    "name": "test",
                    "targets": {
                        "first_response": "100s",
                        "next_response": "60s",
                        "progress_update": "300s",
                        "resolution": "1000s",
                    },
                },
            ],
        }
    )
