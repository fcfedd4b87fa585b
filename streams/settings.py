"""Settings from `TICKETFLOW_*` environment variables and command-line flags.

A bad value stops start-up with a message naming the setting (see `describe_settings_error`).
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.domain.classification import Classifier, ClassificationRules
from streams.domain.config_files import ConfigFileError, bundled_file, load_yaml_model
from streams.domain.model import ModelArtefactError, TextModel, default_artefact_path
from streams.domain.policies import PolicyFile
from streams.domain.routing import RoutingConfig

ENV_PREFIX = "TICKETFLOW_"
_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9._-]{0,100}$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    broker_url: str | None = Field(
        default=None,
        description="Existing Kafka bootstrap servers (host:port[,host:port]); unset = start the embedded broker.",
    )
    broker_kind: Literal["kafka", "embedded"] = Field(
        default="kafka", description="'embedded' when the broker is the Tansu development broker."
    )
    broker_port: int = Field(default=0, ge=0, le=65535, description="Port of the embedded broker (0 = a free port).")
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8080, ge=1, le=65535)
    worker_host: str = "127.0.0.1"
    worker_port: int = Field(default=6066, ge=1, le=65535, description="Worker web port (/metrics, ticket views).")
    worker_advertised_host: str | None = Field(
        default=None,
        description="Host other workers use to reach this one (ticket lookups are forwarded to the owner). "
        "Default: worker_host, or this machine's address when worker_host is 0.0.0.0.",
    )
    policy_file: Path | None = None
    routing_file: Path | None = None
    classification_file: Path | None = None
    model_file: Path | None = Field(
        default=None, description="Trained classification model (default: the artefact `make model` builds)."
    )
    topic_prefix: str = ""
    partitions: int = Field(default=4, ge=1, le=1024, description="Partitions per topic when topics are created.")
    app_id: str = Field(default="ticketflow", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    session_timeout: float = Field(default=10.0, ge=2.0, le=300.0)
    fetch_max_wait_ms: int = Field(default=50, ge=0, le=10_000)
    commit_interval: float = Field(default=1.0, gt=0, le=60)
    sla_tick_seconds: float = Field(default=0.2, gt=0, le=5)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    producer_linger_ms: int = Field(default=5, ge=0, le=1000)
    single_record_batches: bool | None = Field(
        default=None,
        description=(
            "Send every record in its own batch. Needed on the embedded broker, whose "
            "ListOffsets(latest) ignores all but the first record of the last batch and would "
            "make table recovery stop short. Default: on for the embedded broker, off for Kafka."
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _TOPIC_PREFIX.match(value):
            raise ValueError("may only contain letters, digits, '.', '_' and '-'")
        return value

    @field_validator("broker_url")
    @classmethod
    def _bootstrap(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        servers = [server.strip() for server in value.removeprefix("kafka://").split(",")]
        for server in servers:
            if not _HOST_PORT.match(server):
                raise ValueError(f"{server!r} is not host:port (e.g. kafka://127.0.0.1:9092)")
        return ",".join(servers)

    @property
    def bootstrap_servers(self) -> str:
        if self.broker_url is None:
            raise RuntimeError("no broker: set TICKETFLOW_BROKER_URL or start the embedded broker")
        return self.broker_url

    @property
    def advertised_worker_host(self) -> str:
        if self.worker_advertised_host:
            return self.worker_advertised_host
        if self.worker_host in ("0.0.0.0", "::"):
            import socket

            return socket.gethostbyname(socket.gethostname())
        return self.worker_host

    @property
    def uses_single_record_batches(self) -> bool:
        if self.single_record_batches is not None:
            return self.single_record_batches
        return self.broker_kind == "embedded"

    @cached_property
    def policies(self) -> PolicyFile:
        return load_yaml_model(self.policy_file or bundled_file("policies.yaml"), PolicyFile)

    @cached_property
    def routing(self) -> RoutingConfig:
        return load_yaml_model(self.routing_file or bundled_file("routing.yaml"), RoutingConfig)

    @cached_property
    def classifier(self) -> Classifier:
        rules = load_yaml_model(self.classification_file or bundled_file("classification.yaml"), ClassificationRules)
        try:
            model = TextModel.load(self.model_file or default_artefact_path())
        except ModelArtefactError as exc:
            raise ConfigFileError(f"TICKETFLOW_MODEL_FILE: {exc}") from None
        return Classifier(rules, model)

    def load_operator_files(self) -> None:
        """Load and validate every operator file now (raises ConfigFileError naming the file)."""
        _ = self.policies, self.routing, self.classifier


FLAG_FOR_SETTING = {
    "broker_port": "--broker-port",
    "gateway_port": "--gateway-port",
    "gateway_host": "--gateway-host",
    "worker_port": "--worker-port",
    "partitions": "--partitions",
    "policy_file": "--policy-file",
    "routing_file": "--routing-file",
}


def describe_settings_error(error: ValidationError) -> str:
    lines = ["invalid settings:"]
    for item in error.errors(include_url=False, include_input=False):
        name = str(item["loc"][0]) if item["loc"] else "?"
        env = ENV_PREFIX + name.upper()
        flag = FLAG_FOR_SETTING.get(name)
        where = f"{env} ({flag})" if flag else env
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)
