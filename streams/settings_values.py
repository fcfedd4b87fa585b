"""Values inside settings that need more than a type: client tokens, networks, the SMTP intake's
TLS files (docs/configuration.md). Errors name the setting, never a secret."""

from __future__ import annotations

import ipaddress
import re
import ssl
from pathlib import Path

# The shortest secret or token accepted (webhook secrets, client tokens).
MIN_SECRET_LENGTH = 16

_CLIENT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def parse_tokens(value: str) -> dict[str, str]:
    """'name:token,name:token' → {name: token}; ValueError naming the bad entry (never the token)."""
    tokens: dict[str, str] = {}
    for number, item in enumerate((part.strip() for part in value.split(",")), start=1):
        if not item:
            continue
        name, _, token = item.partition(":")
        if not _CLIENT_NAME.match(name) or len(token) < MIN_SECRET_LENGTH:
            raise ValueError(f"entry {number} is not <client name>:<token of at least {MIN_SECRET_LENGTH} characters>")
        if name in tokens:
            raise ValueError(f"client {name!r} is named twice")
        tokens[name] = token
    return tokens


def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network (e.g. 10.0.0.0/8,192.168.1.5)") from None
    if not networks:
        raise ValueError("no address given (e.g. 10.0.0.0/8,192.168.1.5)")
    return tuple(networks)


class _EncryptedKey(Exception):
    pass


def _no_password() -> bytes:
    raise _EncryptedKey


def load_server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context from PEM files; a ValueError naming the settings when they do not load."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key, password=_no_password)
    except _EncryptedKey:
        raise ValueError(
            f"TICKETFLOW_SMTP_TLS_KEY: {key} is encrypted; give an unencrypted key (readable only by "
            "the gateway's user)"
        ) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise ValueError(
                f"TICKETFLOW_SMTP_TLS_KEY: {key} is not the private key of the certificate in "
                f"TICKETFLOW_SMTP_TLS_CERT ({cert})"
            ) from None
        raise ValueError(
            f"TICKETFLOW_SMTP_TLS_CERT / TICKETFLOW_SMTP_TLS_KEY: {cert} and {key} do not load as a PEM "
            f"certificate and its private key ({exc.reason or exc})"
        ) from None
    except OSError as exc:
        raise ValueError(
            f"TICKETFLOW_SMTP_TLS_CERT / TICKETFLOW_SMTP_TLS_KEY: cannot read {cert} or {key} ({exc.strerror or exc})"
        ) from None
    return context
