"""A throw-away Prometheus server (Debian's `prometheus` package) on a free 127.0.0.1 port: its
own configuration and storage under a temporary directory, scraping the given targets every
second and evaluating the alert rules of deploy/prometheus/rules every second. No Alertmanager:
alerts are read from its HTTP API. `make test` installs the package when it is missing."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from streams.transport.broker import free_port

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"


@dataclass
class Prometheus:
    process: subprocess.Popen
    url: str
    log: Path

    def api(self, path: str, **query: str) -> Any:
        address = f"{self.url}/api/v1/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        with urllib.request.urlopen(address, timeout=5) as response:
            document = json.load(response)
        assert document["status"] == "success", document
        return document["data"]

    def alerts(self) -> list[dict]:
        return self.api("alerts")["alerts"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def wait_for(self, what: str, found: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"prometheus exited ({self.process.returncode}) waiting for {what}:\n{self.tail()}"
                )
            try:
                result = found()
            except OSError:
                result = None  # not listening yet
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what}; prometheus log:\n{self.tail()}"
                )
            time.sleep(0.25)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_prometheus(directory: Path, targets: Mapping[str, str]) -> Prometheus:
    """Prometheus scraping each job's `host:port` (job name → target) every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError(
            "prometheus is not installed: run `make test-tools` (Debian's prometheus package) "
            "or `apt-get install prometheus`"
        )
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in sorted(RULES.glob("*.yml"))],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in targets.items()
        ],
    }
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log = directory / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Prometheus(process, f"http://127.0.0.1:{port}", log)
    try:
        server.wait_for(
            "prometheus to be ready",
            lambda: urllib.request.urlopen(f"{server.url}/-/ready", timeout=2).status == 200,
            timeout=20,
        )
    except BaseException:
        server.stop()
        raise
    return server
