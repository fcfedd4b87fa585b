from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is not installed: run `make test-tools` (installs Debian's prometheus package, "
            "which provides promtool) or `apt-get install prometheus`"
        )
    return found
