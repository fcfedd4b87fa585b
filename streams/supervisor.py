"""Runs the broker, the worker and the gateway as child processes, and stops them in order.

Children die with the supervisor even when it is killed (PR_SET_PDEATHSIG), live in their
own process groups (a Ctrl-C reaches only the supervisor, which then stops them gateway
first, broker last), and are terminated, then killed after a grace period — no orphans.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from streams.settings import ENV_PREFIX, Settings
from streams.transport.broker import EmbeddedBroker
from streams.transport.processes import die_with_parent


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as TICKETFLOW_* variables, so child processes see exactly these values
    (secrets included: they travel in the child's environment, never on a command line)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, bool):
            value = "true" if value else "false"
        env[ENV_PREFIX + name.upper()] = str(value)
    return env


def http_ok(url: str, timeout: float = 1.0) -> tuple[bool, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status == 200, response.read()
    except (urllib.error.URLError, OSError, ValueError):
        return False, b""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


@dataclass
class Supervisor:
    settings: Settings
    log_dir: Path | None = None
    broker: EmbeddedBroker | None = None
    children: list[Child] = field(default_factory=list)

    def start_broker_if_needed(self) -> Settings:
        """Start the embedded broker unless TICKETFLOW_BROKER_URL names one; returns the settings to use."""
        if self.settings.broker_url:
            return self.settings
        log_path = self.log_dir / "broker.log" if self.log_dir else None
        self.broker = EmbeddedBroker(port=self.settings.broker_port, log_path=log_path).start()
        self.settings = self.settings.model_copy(
            update={"broker_url": self.broker.bootstrap, "broker_kind": "embedded"}
        )
        return self.settings

    def spawn(self, name: str, *args: str, extra_env: Mapping[str, str] | None = None) -> Child:
        env = {**os.environ, **settings_environment(self.settings), **(extra_env or {})}
        log_file = open(self.log_dir / f"{name}.log", "ab") if self.log_dir else None  # noqa: SIM115
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file or None,
                stderr=subprocess.STDOUT if log_file else None,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        finally:
            if log_file:
                log_file.close()
        child = Child(name, process)
        self.children.append(child)
        return child

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for child in self.children:
                if child.process.poll() is not None:
                    hint = f" (see {self.log_dir / (child.name + '.log')})" if self.log_dir else ""
                    raise RuntimeError(f"{child.name} exited with status {child.process.returncode}{hint}")
            if check():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{what} not ready after {timeout:.0f}s")

    def worker_ready(self) -> bool:
        """The worker owns partitions and has recovered its tables (its /v1/status `ready`)."""
        ok, body = http_ok(f"http://{self.settings.worker_host}:{self.settings.worker_port}/v1/status")
        return ok and b'"ready":true' in body.replace(b" ", b"")

    def gateway_ready(self) -> bool:
        ok, _ = http_ok(f"http://{self.settings.gateway_host}:{self.settings.gateway_port}/healthz")
        return ok

    def alive(self) -> list[str]:
        return [child.name for child in self.children if child.process.poll() is None]

    def stop(self, grace: float = 15.0) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=5)
        self.children.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
