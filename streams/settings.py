"""Settings from `TICKETFLOW_*` environment variables and command-line flags.

A bad value stops start-up with a message naming the setting (see `describe_settings_error`).
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.domain import timestamps
from streams.domain.calendars import checked_timezone
from streams.domain.classification import ClassificationRules, Classifier
from streams.domain.config_files import ConfigFileError, bundled_file, load_yaml_model
from streams.domain.followups.files import CareFile, FollowupFile, load_care_file, load_followup_file
from streams.domain.model import ModelArtefactError, TextModel, default_artefact_path
from streams.domain.policies import PolicyFile
from streams.domain.routing import RoutingConfig
from streams.settings_values import MIN_SECRET_LENGTH, load_server_tls, parse_networks, parse_tokens

ENV_PREFIX = "TICKETFLOW_"
_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9._-]{0,100}$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")
_WECOM_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")
_WECOM_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")
# Channels whose webhooks are signed with a per-channel HMAC secret (phone: the CTI events).
SIGNED_CHANNELS = ("app", "webchat", "social", "vip", "phone")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True, env_ignore_empty=True)

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
    followup_file: Path | None = Field(default=None, description="Follow-up file (default followups.yaml).")
    care_file: Path | None = Field(default=None, description="Care file (default care.yaml).")
    classification_file: Path | None = None
    model_file: Path | None = Field(
        default=None, description="Trained classification model (default: the artefact `make model` builds)."
    )
    topic_prefix: str = ""
    partitions: int = Field(default=4, ge=1, le=1024, description="Partitions per topic when topics are created.")
    app_id: str = Field(default="ticketflow", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    state_dir: Path = Field(
        default=Path("ticketflow-data"),
        description="Local folder of the worker's table state, one sub-folder per app id.",
    )
    session_timeout: float = Field(default=10.0, ge=2.0, le=300.0)
    fetch_max_wait_ms: int = Field(default=50, ge=0, le=10_000)
    commit_interval: float = Field(default=1.0, gt=0, le=60)
    sla_tick_seconds: float = Field(
        default=0.1, gt=0, le=5, description="Longest the SLA timer sleeps; it wakes earlier for a known due point."
    )
    repeat_window_hours: float = Field(
        default=72.0, gt=0, le=24 * 90, description="A request like an earlier one within this window is a repeat."
    )
    new_customer_days: int = Field(
        default=30, ge=0, le=3650, description="A customer this new is in the 'new' segment."
    )
    ticket_retention_days: float = Field(
        default=30.0, gt=0, le=3660, description="Resolved and closed tickets leave the tickets table after this."
    )
    orphan_action_retention_hours: float = Field(
        default=24.0, gt=0, le=24 * 365, description="Actions whose request never arrives are kept this long."
    )
    max_awaiting_tickets: int = Field(
        default=100_000,
        ge=1,
        le=10_000_000,
        description="Ticket ids per worker that may hold actions for a request not seen yet; actions for further "
        "unknown ids go to requests.invalid (replayable), counted in ticketflow_awaiting_refused_total.",
    )
    email_reply_hold_minutes: float = Field(
        default=15.0,
        gt=0,
        le=24 * 60,
        description="An e-mail reply whose ticket is not in the tickets table waits this long for it, then becomes "
        "a request of its own.",
    )
    webchat_reply_hold_minutes: float = Field(
        default=2.0,
        gt=0,
        le=24 * 60,
        description="A web chat follow-up whose conversation has no ticket waits this long for it, then opens the "
        "conversation's ticket itself.",
    )
    report_timezone: str = Field(default="Asia/Shanghai", description="Day windows start at local midnight here.")
    window_grace_seconds: float = Field(
        default=120.0, ge=0, le=86400, description="A window is emitted this long after it ends (late facts revise it)."
    )
    hour_window_retention_hours: float = Field(default=48.0, gt=0, le=24 * 90)
    day_window_retention_days: float = Field(default=35.0, gt=0, le=3660)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    producer_linger_ms: int = Field(default=5, ge=0, le=1000)
    single_record_batches: bool | None = Field(
        default=None,
        description=(
            "Send every record in its own batch (slow). No longer needed on the embedded broker: "
            "where table recovery stops is read from its last record batch there "
            "(streams/transport/end_offsets.py). Default: off."
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    readiness_worker_url: str | None = Field(
        default=None,
        description="A worker's /v1/status URL; the gateway's /readyz is green only once that worker is ready "
        "(`ticketflow up` and `demo` set it). Unset: /readyz checks the intake only.",
    )
    board_worker_urls: str | None = Field(
        default=None,
        description="Every worker's base URL (http://host:port, comma-separated) whose board the gateway's "
        "/v1/board merges (docs/board.md). Default: the host of TICKETFLOW_READINESS_WORKER_URL, else this "
        "machine's worker.",
    )

    # -- channel adapters (secrets are SecretStr: never printed, logged or put in a record) --
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=0, le=65535, description="Inbound SMTP port of the gateway (0 = off).")
    smtp_tls_cert: Path | None = Field(
        default=None, description="PEM certificate (chain) the SMTP intake offers with STARTTLS; unset = no STARTTLS."
    )
    smtp_tls_key: Path | None = Field(
        default=None, description="PEM private key of TICKETFLOW_SMTP_TLS_CERT (unencrypted)."
    )
    smtp_require_tls: bool | None = Field(
        default=None,
        description="Refuse MAIL, RCPT and DATA before STARTTLS (530). Default: on when a certificate is configured.",
    )
    smtp_allowed_peers: str | None = Field(
        default=None,
        description="Addresses allowed to deliver over SMTP: comma-separated IPs and CIDRs (10.0.0.0/8,192.168.1.5); "
        "others get 554 at connect. Unset = any peer.",
    )
    mail_max_bytes: int = Field(
        default=720 * 1024,
        ge=4096,
        le=8 * 1024 * 1024,
        description="Largest mail accepted (SMTP and IMAP). Stored base64-encoded when it is not UTF-8, so "
        "4/3 of it plus 16 KiB must fit TICKETFLOW_MAX_RECORD_BYTES.",
    )
    max_record_bytes: int = Field(
        default=1_000_000,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        description="Largest record the gateway publishes (the broker's message.max.bytes must allow it); a "
        "payload whose record would be larger is refused (HTTP 413, SMTP 552).",
    )
    smtp_max_recipients: int = Field(default=20, ge=1, le=1000, description="RCPT TO per message; more get 452.")
    smtp_max_connections: int = Field(default=100, ge=1, le=10_000, description="Open SMTP sessions; more get 421.")
    smtp_peer_connections_per_minute: int = Field(
        default=120, ge=1, le=100_000, description="New SMTP sessions per peer address per minute; more get 421."
    )
    imap_host: str | None = Field(default=None, description="Support mailbox to poll; unset = no IMAP poller.")
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_ssl: bool = True
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_mailbox: str = Field(default="INBOX", min_length=1, max_length=200)
    imap_poll_seconds: float = Field(default=30.0, ge=0.1, le=3600)
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the generic write endpoints (/v1/requests, /v1/tickets/…/actions, "
        "/v1/feedback); its client is named 'default' in the access log.",
    )
    api_tokens: SecretStr | None = Field(
        default=None,
        description="Named bearer tokens, one per integration: 'crm:<token>,store-desk:<token>'. The access log "
        "names the client, never the token.",
    )
    allow_anonymous_writes_insecure: bool = Field(
        default=False,
        description="Accept writes without a token (a closed development network only). Anonymous requests "
        "cannot declare a customer tier.",
    )
    app_secret: SecretStr | None = None
    webchat_secret: SecretStr | None = None
    social_secret: SecretStr | None = None
    vip_secret: SecretStr | None = None
    phone_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_corp_id: str | None = Field(default=None, max_length=64)
    webhook_max_age_seconds: int = Field(default=300, ge=10, le=3600, description="Replay window of signed webhooks.")
    call_answer_target_seconds: float = Field(default=600.0, gt=0, le=86_400)
    earliest_timestamp: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="Channel timestamps before this are refused (the field is named); a naive value is UTC.",
    )
    timestamp_ahead_seconds: float = Field(
        default=86_400.0, ge=60, le=30 * 86_400, description="Channel timestamps this far after now are refused."
    )
    sheet_timezone: str = Field(default="Asia/Shanghai", description="Zone of request-log times without one.")

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _TOPIC_PREFIX.match(value):
            raise ValueError("may only contain letters, digits, '.', '_' and '-'")
        return value

    @field_validator("app_secret", "webchat_secret", "social_secret", "vip_secret", "phone_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"a webhook secret needs at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("api_token")
    @classmethod
    def _api_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"an API token needs at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("api_tokens")
    @classmethod
    def _api_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_tokens(value.get_secret_value())
        return value

    @cached_property
    def client_tokens(self) -> dict[str, str]:
        """Client name → token, from TICKETFLOW_API_TOKENS and TICKETFLOW_API_TOKEN ('default')."""
        tokens = parse_tokens(self.api_tokens.get_secret_value()) if self.api_tokens else {}
        if self.api_token is not None:
            tokens.setdefault("default", self.api_token.get_secret_value())
        return tokens

    @field_validator("wecom_token")
    @classmethod
    def _wecom_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WECOM_TOKEN.match(value.get_secret_value()):
            raise ValueError("the WeChat Work Token is 3-32 letters or digits")
        return value

    @field_validator("wecom_aes_key")
    @classmethod
    def _wecom_aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WECOM_AES_KEY.match(value.get_secret_value()):
            raise ValueError("the EncodingAESKey is 43 characters of letters, digits, '+' and '/'")
        return value

    @field_validator("smtp_allowed_peers")
    @classmethod
    def _allowed_peers(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return ",".join(str(network) for network in parse_networks(value))

    @field_validator("smtp_tls_cert", "smtp_tls_key")
    @classmethod
    def _pem_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("report_timezone", "sheet_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return checked_timezone(value)

    @model_validator(mode="after")
    def _complete_groups(self) -> Settings:
        wecom = {
            "wecom_token": self.wecom_token,
            "wecom_aes_key": self.wecom_aes_key,
            "wecom_corp_id": self.wecom_corp_id,
        }
        if any(wecom.values()) and not all(wecom.values()):
            missing = ", ".join(ENV_PREFIX + name.upper() for name, value in wecom.items() if not value)
            raise ValueError(f"the WeChat Work callback needs its token, AES key and corp id; missing {missing}")
        if self.imap_host and not (self.imap_user and self.imap_password):
            raise ValueError("the IMAP poller needs TICKETFLOW_IMAP_USER and TICKETFLOW_IMAP_PASSWORD")
        if self.smtp_tls_cert is not None and self.smtp_tls_key is None:
            raise ValueError("TICKETFLOW_SMTP_TLS_CERT needs its private key in TICKETFLOW_SMTP_TLS_KEY")
        if self.smtp_tls_key is not None and self.smtp_tls_cert is None:
            raise ValueError("TICKETFLOW_SMTP_TLS_KEY needs its certificate in TICKETFLOW_SMTP_TLS_CERT")
        if self.smtp_require_tls and self.smtp_tls_cert is None:
            raise ValueError("TICKETFLOW_SMTP_REQUIRE_TLS needs a certificate: set TICKETFLOW_SMTP_TLS_CERT and _KEY")
        if self.smtp_tls_cert is not None:
            self.smtp_tls_context()  # a certificate that cannot be loaded stops start-up here
        if self.mail_max_bytes * 4 // 3 + 16 * 1024 > self.max_record_bytes:
            raise ValueError(
                f"TICKETFLOW_MAIL_MAX_BYTES ({self.mail_max_bytes}) does not fit a record of "
                f"TICKETFLOW_MAX_RECORD_BYTES ({self.max_record_bytes}) once base64-encoded: lower it to "
                f"{(self.max_record_bytes - 16 * 1024) * 3 // 4} or raise the record size"
            )
        return self

    def smtp_tls_context(self) -> ssl.SSLContext | None:
        """The server-side TLS context of the SMTP intake (None without a certificate)."""
        if self.smtp_tls_cert is None or self.smtp_tls_key is None:
            return None
        return load_server_tls(self.smtp_tls_cert, self.smtp_tls_key)

    @property
    def smtp_requires_tls(self) -> bool:
        if self.smtp_require_tls is not None:
            return self.smtp_require_tls
        return self.smtp_tls_cert is not None

    @property
    def smtp_allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None:
        """The networks allowed to deliver over SMTP, or None when any peer may."""
        return parse_networks(self.smtp_allowed_peers) if self.smtp_allowed_peers else None

    def channel_secret(self, channel: str) -> bytes | None:
        """The HMAC secret of a signed channel, or None when the channel is not configured."""
        secret = getattr(self, f"{channel}_secret", None) if channel in SIGNED_CHANNELS else None
        return secret.get_secret_value().encode("utf-8") if secret is not None else None

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
        return bool(self.single_record_batches)

    @cached_property
    def policies(self) -> PolicyFile:
        return load_yaml_model(self.policy_file or bundled_file("policies.yaml"), PolicyFile)

    @cached_property
    def routing(self) -> RoutingConfig:
        return load_yaml_model(self.routing_file or bundled_file("routing.yaml"), RoutingConfig)

    @cached_property
    def followups(self) -> FollowupFile:
        return load_followup_file(self.followup_file)

    @cached_property
    def care(self) -> CareFile:
        return load_care_file(self.care_file)

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
        _ = self.policies, self.routing, self.classifier, self.followups, self.care

    def apply_process_wide(self) -> None:
        """Settings that the pure code reads process-wide: the accepted timestamp range."""
        timestamps.configure(self.earliest_timestamp, timedelta(seconds=self.timestamp_ahead_seconds))


FLAG_FOR_SETTING = {
    "broker_port": "--broker-port",
    "gateway_port": "--gateway-port",
    "worker_port": "--worker-port",
    "partitions": "--partitions",
    "policy_file": "--policy-file",
    "routing_file": "--routing-file",
    "smtp_port": "--smtp-port",
}


def describe_settings_error(error: ValidationError) -> str:
    lines = ["invalid settings:"]
    for item in error.errors(include_url=False, include_input=False):
        if not item["loc"]:  # a check across settings: the message names the variables
            lines.append(f"  {item['msg'].removeprefix('Value error, ')}")
            continue
        name = str(item["loc"][0])
        env = ENV_PREFIX + name.upper()
        flag = FLAG_FOR_SETTING.get(name)
        where = f"{env} ({flag})" if flag else env
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)
