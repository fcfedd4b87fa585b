"""Shared helpers for the unit tests (integration fixtures live in tests/integration/conftest.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from streams.domain.classification import ClassificationRules, Classifier
from streams.domain.config_files import bundled_file, load_yaml_model
from streams.domain.policies import PolicyFile
from streams.domain.routing import RoutingConfig

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier(load_yaml_model(bundled_file("classification.yaml"), ClassificationRules))


@pytest.fixture(scope="session")
def routing() -> RoutingConfig:
    return load_yaml_model(bundled_file("routing.yaml"), RoutingConfig)


@pytest.fixture(scope="session")
def policies() -> PolicyFile:
    return load_yaml_model(bundled_file("policies.yaml"), PolicyFile)
