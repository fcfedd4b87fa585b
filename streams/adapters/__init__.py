"""Channel adapters: each channel's own protocol at the edge, and its payload understood again
by the normalize stage. See base.py for the interface; pure (no faust, no Kafka client).

| adapter (`RawEnvelope.adapter`) | channel(s)                 | body on raw.<channel>            |
|---------------------------------|----------------------------|----------------------------------|
| `http-json/v1`                  | any (generic endpoint)     | RequestSubmission JSON           |
| `webhook/v1`                    | app, webchat, social, vip  | the channel's signed JSON        |
| `cti-webhook/v1`                | phone                      | a CTI call event (JSON)          |
| `wecom-callback/v1`             | wecom                      | the decrypted message XML        |
| `email-smtp/v1`, `email-imap/v1`| email                      | the RFC 5322 message             |
| `email-reply/v1`, `webchat-reply/v1` | email, webchat        | a reply whose ticket was not found, as a request (JSON, from the lifecycle; replies.py) |
| `sheet-import/v1`               | any (from 需求渠道)         | one row of the request log (JSON)|
"""

from __future__ import annotations

from collections.abc import Callable

from streams.adapters import cti, email, generic, replies, sheet, webhook, wecom
from streams.adapters.base import Parsed, Skip
from streams.domain.rejections import Rejection
from streams.models import RawEnvelope

Parser = Callable[[RawEnvelope], "Parsed | Rejection | Skip"]

PARSERS: dict[str, Parser] = {
    "http-json": generic.parse,
    "webhook": webhook.parse,
    "cti-webhook": cti.parse,
    "wecom-callback": wecom.parse,
    "email-smtp": email.parse,
    "email-imap": email.parse,
    "email-reply": replies.parse,
    "webchat-reply": replies.parse,
    "sheet-import": sheet.parse,
}


def parse_body(envelope: RawEnvelope) -> Parsed | Rejection | Skip:
    """The envelope's body as a request: by its adapter; records of other producers that carry
    the generic JSON body are read as such."""
    parser = PARSERS.get(envelope.adapter.split("/")[0], generic.parse)
    return parser(envelope)


__all__ = ["PARSERS", "Parsed", "Skip", "parse_body"]
