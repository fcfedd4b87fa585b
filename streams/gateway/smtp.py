"""Inbound SMTP (aiosmtpd) for the support address: every mail becomes a request on raw.email,
or a customer_reply on the ticket it answers (see streams/adapters/email.py).

Reply codes follow what a sending mail server does with them:
- 250 once the broker has acknowledged the records (the ticket id is in the reply text);
- 451 (temporary) when the broker is unavailable: the sender keeps the mail and retries;
- 550 (permanent) when the message cannot be a request (no From, nothing readable): the
  sender bounces it to the customer, and the message is kept on requests.invalid;
- 552 when it exceeds `TICKETFLOW_MAIL_MAX_BYTES` (answered by aiosmtpd during DATA), or when
  its record would exceed `TICKETFLOW_MAX_RECORD_BYTES` (its first bytes kept on requests.invalid);
- 452 for a recipient over `TICKETFLOW_SMTP_MAX_RECIPIENTS`, 421 for a session over
  `TICKETFLOW_SMTP_MAX_CONNECTIONS` or `TICKETFLOW_SMTP_PEER_CONNECTIONS_PER_MINUTE`.
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
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import Counter

from streams.adapters.base import Refusal
from streams.adapters.email import SMTP_ADAPTER, mail_intake
from streams.domain.rejections import Rejection
from streams.gateway.intake import IntakeSink, RecordTooLarge
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
    """Hand one received mail to the pipeline: ("accepted" | "refused" | "retry", SMTP reply).

    Parsing runs in a worker thread (its work is bounded, streams/adapters/email.py), so the
    event loop goes on serving HTTP, SMTP and IMAP meanwhile. A refusal is answered for good
    (5xx) only once its record is on requests.invalid; until then the sender keeps the mail (451).
    """
    outcome = await asyncio.to_thread(mail_intake, raw, datetime.now(UTC), adapter)
    if isinstance(outcome, Refusal):
        if not await sink.refuse("email", outcome):
            return "retry", UNAVAILABLE
        return "refused", f"550 5.6.0 {outcome.error_code}: {_one_line(outcome.rejection.reason)}"
    try:
        answer, duplicate = await sink.accept(outcome)
    except RecordTooLarge as exc:
        refusal = Refusal(413, Rejection("body_too_large", str(exc)), publish=True, raw=raw)
        if not await sink.refuse("email", refusal):
            return "retry", UNAVAILABLE
        return "refused", f"552 5.3.4 the message is too large to be taken: {_one_line(str(exc))}"
    except PublishError as exc:
        log.warning("mail not accepted, broker unavailable: %s", exc)
        return "retry", UNAVAILABLE
    what = "reply to" if not outcome.publish_request else ("duplicate of" if duplicate else "accepted as")
    return "accepted", f"250 2.0.0 {what} {answer['ticket_id']}"


UNAVAILABLE = "451 4.3.0 the ticket system is unavailable; please try again later"


@dataclass
class SmtpLimits:
    """Caps on what SMTP peers may open: recipients per message, sessions at once, new sessions
    per peer address per minute. Each refusal is answered with its standard code and counted."""

    max_recipients: int = 20
    max_connections: int = 100
    peer_connections_per_minute: int = 120
    active: int = 0
    _recent: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, peer: Any, now: float) -> str | None:
        """None when a new session may start, else the refusal reason (a metric label)."""
        if self.active >= self.max_connections:
            return "too_many_connections"
        address = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
        recent = self._recent.setdefault(address, deque())
        while recent and recent[0] <= now - 60:
            recent.popleft()
        if len(recent) >= self.peer_connections_per_minute:
            return "peer_rate"
        recent.append(now)
        if len(self._recent) > 10_000:  # forget peers that went quiet
            for quiet in [key for key, times in self._recent.items() if not times or times[-1] <= now - 60]:
                del self._recent[quiet]
        return None


class MailHandler:
    def __init__(self, sink: IntakeSink, limits: SmtpLimits) -> None:
        self.sink = sink
        self.limits = limits

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,  # noqa: N802
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.limits.max_recipients:
            SMTP_REFUSED.labels("too_many_recipients").inc()
            return f"452 4.5.3 too many recipients (at most {self.limits.max_recipients} per message)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        raw = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        _, reply = await receive_mail(self.sink, bytes(raw or b""))
        return reply


class IntakeSMTP(SMTP):
    """aiosmtpd's server, refusing peers outside the allowed networks before the greeting, and
    sessions over the limits with 421 (RFC 5321 §3.8)."""

    def __init__(self, handler: MailHandler, *, allowed_peers: Sequence[Network] | None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.allowed_peers = allowed_peers
        self.limits = handler.limits

    async def _handle_client(self) -> None:
        assert self.session is not None and self.transport is not None
        if not peer_allowed(self.session.peer, self.allowed_peers):
            log.warning("SMTP connection refused: peer not in TICKETFLOW_SMTP_ALLOWED_PEERS")
            SMTP_REFUSED.labels("peer_not_allowed").inc()
            await self.push("554 5.7.1 no SMTP service here for your address")
            self.transport.close()
            return
        if (reason := self.limits.admit(self.session.peer, time.monotonic())) is not None:
            SMTP_REFUSED.labels(reason).inc()
            await self.push("421 4.7.0 too many connections; try again later")
            self.transport.close()
            return
        self.limits.active += 1
        try:
            await super()._handle_client()
        finally:
            self.limits.active -= 1


async def start_smtp(
    sink: IntakeSink,
    host: str,
    port: int,
    max_bytes: int,
    *,
    tls_context: ssl.SSLContext | None = None,
    require_tls: bool = False,
    allowed_peers: Sequence[Network] | None = None,
    limits: SmtpLimits | None = None,
) -> asyncio.AbstractServer:
    """Listen for SMTP on host:port in the running event loop; STARTTLS is offered with a
    tls_context (and required before MAIL with require_tls); allowed_peers None = any peer."""
    if require_tls and tls_context is None:
        raise ValueError("require_tls needs a tls_context")
    # aiosmtpd logs every MAIL FROM / RCPT TO address at INFO: no contact data in our logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = MailHandler(sink, limits or SmtpLimits())
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: IntakeSMTP(
            handler,
            allowed_peers=allowed_peers,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="ticketflow",
            ident="Ticketflow intake",
            timeout=60,
            tls_context=tls_context,
            require_starttls=require_tls,
        ),
        host=host,
        port=port,
    )
