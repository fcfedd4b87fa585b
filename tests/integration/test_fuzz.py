"""A short run of `make fuzz`: generated hostile payloads on every adapter of a running gateway."""

from __future__ import annotations

import asyncio

import pytest

from bench import fuzz

pytestmark = pytest.mark.integration


def test_hostile_payloads_get_no_5xx_no_hang_and_every_accepted_one_is_published_once(tmp_path):
    result = asyncio.run(fuzz.run(payloads=1000, seed=11, concurrency=16, log_dir=tmp_path))
    failed = [check for check, ok in result["checks"].items() if not ok]
    assert not failed, (failed, result)
    assert result["accepted_requests"] > 80 and result["http_statuses"].get(422, 0) > 80
    assert result["accepted_feedback"] >= 3  # the survey answers endpoint is fuzzed too
