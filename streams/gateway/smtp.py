"""Inbound SMTP (aiosmtpd) for the support address: every mail becomes a request on raw.email,
or a customer_reply on the ticket it answers (see streams/adapters/email.py).

Reply codes follow what a sending mail server does with them:
- 250 once the broker has acknowledged the records (the ticket id is in the reply text);
- 451 (temporary) when the broker is unavailable: the sender keeps the mail and retries;
- 550 (permanent) when the message cannot be a request (no From, nothing readable): the
  sender bounces it to the customer, and the message is kept on requests.invalid;
- 552 when it exceeds `TICKETFLOW_MAIL_MAX_BYTES` (answered by aiosmtpd during DATA).
The server accepts mail for any recipient; run it behind the MX that routes the support
address to it. Two settings make that safe on an internal network (SMTP AUTH is not offered):
- STARTTLS with `TICKETFLOW_SMTP_TLS_CERT`/`_KEY`; while `TICKETFLOW_SMTP_REQUIRE_TLS` is on
  (the default with a certificate), MAIL, RCPT and DATA before STARTTLS get 530 (RFC 3207);
- `TICKETFLOW_SMTP_ALLOWED_PEERS`: a peer outside these networks gets 554 instead of the
  greeting (RFC 5321 §3.1) and the connection is closed, counted in
  `ticketflow_smtp_refused_total{reason="peer_not_allowed"}`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import Counter

from streams.adapters.base import Refusal
from streams.adapters.email import SMTP_ADAPTER, mail_intake
from streams.gateway.intake import IntakeSink
from streams.transport.publisher import PublishError

log = logging.getLogger("ticketflow.smtp")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SMTP_REFUSED = Counter(
    "ticketflow_smtp_refused",
    "SMTP connections refused before any mail was taken, by reason (peer_not_allowed: the peer is outside "
    "TICKETFLOW_SMTP_ALLOWED_PEERS).",
    ["reason"],
)


def peer_allowed(peer: Any, networks: Sequence[Network] | None) -> bool:
    """Whether an SMTP peer (the socket's peername) may deliver; any peer when networks is None."""
    if networks is None:
        return True
    try:
        address = ipaddress.ip_address(peer[0])
    except (TypeError, ValueError, IndexError):
        return False  # not an IP peer (a Unix socket, or unknown): not on any allowed network
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d
    return any(address in network for network in networks)


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


async def receive_mail(sink: IntakeSink, raw: bytes, adapter: str = SMTP_ADAPTER) -> tuple[str, str]:
    """Hand one received mail to the pipeline: ("accepted" | "refused" | "retry", SMTP reply)."""
    outcome = mail_intake(raw, datetime.now(timezone.utc), adapter)
    if isinstance(outcome, Refusal):
        await sink.refuse("email", outcome)
        return "refused", f"550 5.6.0 {outcome.error_code}: {_one_line(outcome.rejection.reason)}"
    try:
        answer, duplicate = await sink.accept(outcome)
    except PublishError as exc:
        log.warning("mail not accepted, broker unavailable: %s", exc)
        return "retry", "451 4.3.0 the ticket system is unavailable; please try again later"
    what = "reply to" if not outcome.publish_request else ("duplicate of" if duplicate else "accepted as")
    return "accepted", f"250 2.0.0 {what} {answer['ticket_id']}"


class MailHandler:
    def __init__(self, sink: IntakeSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        raw = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        _, reply = await receive_mail(self.sink, bytes(raw or b""))
        return reply


class IntakeSMTP(SMTP):
    """aiosmtpd's server, refusing peers outside the allowed networks before the greeting."""

    def __init__(self, handler: MailHandler, *, allowed_peers: Sequence[Network] | None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.allowed_peers = allowed_peers

    async def _handle_client(self) -> None:
        assert self.session is not None and self.transport is not None
        if not peer_allowed(self.session.peer, self.allowed_peers):
            log.warning("SMTP connection from %s refused: not in TICKETFLOW_SMTP_ALLOWED_PEERS", self.session.peer)
            SMTP_REFUSED.labels("peer_not_allowed").inc()
            await self.push("554 5.7.1 no SMTP service here for your address")
            self.transport.close()
            return
        await super()._handle_client()


async def start_smtp(
    sink: IntakeSink,
    host: str,
    port: int,
    max_bytes: int,
    *,
    tls_context: ssl.SSLContext | None = None,
    require_tls: bool = False,
    allowed_peers: Sequence[Network] | None = None,
) -> asyncio.AbstractServer:
    """Listen for SMTP on host:port in the running event loop; STARTTLS is offered with a
    tls_context (and required before MAIL with require_tls); allowed_peers None = any peer."""
    if require_tls and tls_context is None:
        raise ValueError("require_tls needs a tls_context")
    handler = MailHandler(sink)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: IntakeSMTP(handler, allowed_peers=allowed_peers, data_size_limit=max_bytes, enable_SMTPUTF8=True,
                           decode_data=False, hostname="ticketflow", ident="Ticketflow intake", timeout=60,
                           tls_context=tls_context, require_starttls=require_tls),  # fmt: skip
        host=host,
        port=port,
    )
