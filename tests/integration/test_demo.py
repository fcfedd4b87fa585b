"""`ticketflow demo` as a user runs it: traffic arrives through every channel's own protocol."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streams.transport.broker import free_port

pytestmark = pytest.mark.integration

OPERATOR_SECRET = "operator-chosen-app-secret-0123456789"


def _last(output: str, title: str) -> dict[str, int]:
    """The counts on the last summary line with this title ("by adapter    webhook 5  …")."""
    lines = [line for line in output.splitlines() if line.startswith(title)]
    assert lines, output
    return {name: int(count) for name, count in re.findall(r"([\w-]+) (\d+)", lines[-1][len(title) :])}


def test_the_demo_sends_through_the_channel_adapters_and_prints_no_secret():
    env = {
        **os.environ,
        "TICKETFLOW_SESSION_TIMEOUT": "3",
        "TICKETFLOW_APP_ID": f"demo-{os.getpid()}",
        "TICKETFLOW_APP_SECRET": OPERATOR_SECRET,
    }
    env.pop("TICKETFLOW_BROKER_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "demo",
            "--duration",
            "20",
            "--rate",
            "10",
            "--gateway-port",
            str(free_port()),
            "--worker-port",
            str(free_port()),
            "--smtp-port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "stopped; nothing left running" in output
    adapters = _last(output, "by adapter")
    assert {"webhook", "cti-webhook", "wecom-callback", "email-smtp", "http-json"} <= set(adapters), output
    channels = _last(output, "by channel")  # processed by the worker
    assert len(channels) >= 5, output
    log_dir = Path(re.search(r"^logs\s+(\S+)", output, re.MULTILINE).group(1))
    logs = "".join(path.read_text(errors="replace") for path in log_dir.glob("*.log"))
    assert OPERATOR_SECRET not in output and OPERATOR_SECRET not in logs
