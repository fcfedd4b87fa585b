"""Polling a support mailbox over IMAP (aioimaplib): each unseen mail is handed to the same
path as an SMTP delivery (streams/gateway/smtp.py: receive_mail) and marked \\Seen once the
broker has it — or once it was refused for good and its record is on requests.invalid. When
the broker is unavailable the mail stays unseen and the next poll takes it again; the Message-ID
is its idempotency key, so taking a mail twice never makes two tickets. Each mail stands alone:
one that cannot be fetched is skipped this poll, and one that cannot be parsed (a poison mail)
is kept on requests.invalid with its raw bytes and marked seen only once that is acknowledged. Use a mailbox that
only the poller reads (a person opening a mail in a client marks it seen too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field

from aioimaplib import IMAP4, IMAP4_SSL
from prometheus_client import Counter

from streams.adapters.base import Refusal
from streams.adapters.email import IMAP_ADAPTER
from streams.domain.rejections import Rejection
from streams.gateway.intake import IntakeSink
from streams.gateway.smtp import receive_mail
from streams.settings import Settings

IMAP_POLL_FAILURES = Counter(
    "ticketflow_imap_poll_failures", "IMAP polls of the support mailbox that failed (retried next interval)."
)
IMAP_MESSAGE_FAILURES = Counter(
    "ticketflow_imap_message_failures",
    "Mails the IMAP poller could not fetch or mark this poll (tried again next poll).",
)

log = logging.getLogger("ticketflow.imap")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(RuntimeError):
    pass


@dataclass
class PollResult:
    seen: int = 0
    accepted: int = 0
    refused: int = 0
    retry: int = 0
    errors: list[str] = field(default_factory=list)


def _literal(lines: list) -> bytes | None:
    """The message bytes in a FETCH answer (aioimaplib gives the literal as its own line)."""
    for line in lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


@dataclass
class ImapPoller:
    sink: IntakeSink
    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    ssl: bool = True
    interval: float = 30.0
    max_bytes: int = 768 * 1024
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, sink: IntakeSink, settings: Settings) -> ImapPoller:
        assert settings.imap_host and settings.imap_user and settings.imap_password
        return cls(
            sink=sink,
            host=settings.imap_host,
            port=settings.imap_port,
            user=settings.imap_user,
            password=settings.imap_password.get_secret_value(),
            mailbox=settings.imap_mailbox,
            ssl=settings.imap_ssl,
            interval=settings.imap_poll_seconds,
            max_bytes=settings.mail_max_bytes,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a failing poll is logged and tried again next interval."""
        while not stop.is_set():
            try:
                result = await self.poll_once()
                if result.seen:
                    log.info(
                        "IMAP poll: %d new, %d accepted, %d refused, %d left for later",
                        result.seen,
                        result.accepted,
                        result.refused,
                        result.retry,
                    )
            except (TimeoutError, ImapError, OSError) as exc:
                log.warning("IMAP poll of %s:%d failed: %s", self.host, self.port, exc)
                IMAP_POLL_FAILURES.inc()
            except Exception:  # noqa: BLE001 - e.g. aioimaplib's Abort or CommandTimeout: keep polling
                log.exception("IMAP poll of %s:%d failed", self.host, self.port)
                IMAP_POLL_FAILURES.inc()
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except TimeoutError:
                pass

    async def _client(self) -> IMAP4:
        client = (IMAP4_SSL if self.ssl else IMAP4)(host=self.host, port=self.port, timeout=self.timeout)
        try:
            await client.wait_hello_from_server()
            response = await client.login(self.user, self.password)
            if response.result != "OK":
                raise ImapError(f"login as {self.user!r} refused")
            response = await client.select(self.mailbox)
            if response.result != "OK":
                raise ImapError(f"mailbox {self.mailbox!r} cannot be selected")
        except BaseException:
            with contextlib.suppress(Exception):
                await client.logout()
            raise
        return client

    async def poll_once(self) -> PollResult:
        result = PollResult()
        client = await asyncio.wait_for(self._client(), self.timeout * 2)
        try:
            response = await client.uid_search("UNSEEN")
            if response.result != "OK":
                raise ImapError("UID SEARCH UNSEEN failed")
            uids = [uid for line in response.lines[:1] for uid in bytes(line).split() if uid.isdigit()]
            for uid in uids:
                result.seen += 1
                try:
                    outcome = await self._take(client, uid.decode())
                except (TimeoutError, ImapError) as exc:  # this mail only: the next ones are taken
                    log.warning("IMAP: UID %s skipped this poll: %s", uid.decode(), exc)
                    result.errors.append(f"UID {uid.decode()}: {exc}")
                    IMAP_MESSAGE_FAILURES.inc()
                    continue
                setattr(result, outcome, getattr(result, outcome) + 1)
                if outcome == "retry":
                    break  # the broker is down: leave the rest for the next poll
        finally:
            try:
                await asyncio.wait_for(client.logout(), self.timeout)
            except (TimeoutError, OSError, Exception):  # noqa: BLE001 - best effort
                pass
        return result

    async def _take(self, client: IMAP4, uid: str) -> str:
        response = await client.uid("fetch", uid, "(RFC822.SIZE)")
        size_match = _SIZE.search(b" ".join(bytes(line) for line in response.lines if isinstance(line, bytes)))
        if size_match and int(size_match.group(1)) > self.max_bytes:
            reason = f"the mail is {size_match.group(1).decode()} bytes; at most {self.max_bytes} are accepted"
            kept = await self.sink.refuse("email", Refusal(413, Rejection("body_too_large", reason), publish=True))
            outcome = "refused" if kept else "retry"
        else:
            response = await client.uid("fetch", uid, "(BODY.PEEK[])")
            raw = _literal(response.lines) if response.result == "OK" else None
            if raw is None:
                raise ImapError(f"UID FETCH {uid} returned no message")
            try:
                outcome, _reply = await receive_mail(self.sink, raw, IMAP_ADAPTER)
            except Exception as exc:  # noqa: BLE001 - a poison mail is kept, not retried for ever
                log.exception("IMAP: UID %s could not be taken; kept on requests.invalid", uid)
                rejection = Rejection("processing_error", f"{type(exc).__name__}: {exc}")
                kept = await self.sink.refuse("email", Refusal(422, rejection, publish=True, raw=raw))
                outcome = "refused" if kept else "retry"
        if outcome in ("accepted", "refused"):
            stored = await client.uid("store", uid, "+FLAGS.SILENT (\\Seen)")
            if stored.result != "OK":
                raise ImapError(f"cannot mark UID {uid} as seen")
        return outcome
