"""Inbound SMTP (aiosmtpd) for the support address: every mail becomes a request on raw.email,
or a customer_reply on the ticket it answers (see streams/adapters/email.py).

Reply codes follow what a sending mail server does with them:
- 250 once the broker has acknowledged the records (the ticket id is in the reply text);
- 451 (temporary) when the broker is unavailable: the sender keeps the mail and retries;
- 550 (permanent) when the message cannot be a request (no From, nothing readable): the
  sender bounces it to the customer, and the message is kept on requests.invalid;
- 552 when it exceeds `TICKETFLOW_MAIL_MAX_BYTES` (answered by aiosmtpd during DATA).
The server accepts mail for any recipient; run it behind the MX that routes the support
address to it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from aiosmtpd.smtp import SMTP, Envelope, Session

from streams.adapters.base import Refusal
from streams.adapters.email import SMTP_ADAPTER, mail_intake
from streams.gateway.intake import IntakeSink
from streams.transport.publisher import PublishError

log = logging.getLogger("ticketflow.smtp")


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


async def start_smtp(sink: IntakeSink, host: str, port: int, max_bytes: int) -> asyncio.AbstractServer:
    """Listen for SMTP on host:port in the running event loop."""
    handler = MailHandler(sink)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, data_size_limit=max_bytes, enable_SMTPUTF8=True, decode_data=False,
                     hostname="ticketflow", ident="Ticketflow intake", timeout=60),  # fmt: skip
        host=host,
        port=port,
    )
