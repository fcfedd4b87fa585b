"""Running Prometheus's promtool (Debian's prometheus package) on the files in deploy/."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.deploy.exported import ROOT


def run_promtool(promtool: str, *args: str | Path) -> str:
    result = subprocess.run([promtool, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(map(str, args))} failed:\n{output}"
    return output
