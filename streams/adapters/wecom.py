"""WeChat Work (企业微信) callback: URL verification and encrypted XML messages.

The platform's protocol ("加解密方案"):

- the EncodingAESKey is 43 characters of base64; with "=" appended it decodes to the 32-byte
  AES key, and the IV is the key's first 16 bytes (AES-256-CBC);
- a plaintext is `random(16) | len(msg) as 4 bytes big-endian | msg | receiveid` (the corp id),
  padded PKCS#7 to a multiple of 32 bytes, encrypted and base64-encoded;
- `msg_signature = sha1(sorted([token, timestamp, nonce, ciphertext]) joined)`;
- URL verification: `GET ?msg_signature&timestamp&nonce&echostr` → answer the decrypted echostr;
- a message: `POST ?msg_signature&timestamp&nonce` with `<xml><ToUserName/><Encrypt/><AgentID/></xml>`;
  the decrypted plaintext is the message XML (MsgType, Content, FromUserName, MsgId, …);
  the platform expects HTTP 200 within five seconds (an empty body means "no passive reply").

A wrong signature is refused with 401 and a corp id that is not ours with 403; nothing of
either is published. A correctly signed call whose `timestamp` is more than `max_age` (the
gateway's `TICKETFLOW_WEBHOOK_MAX_AGE_SECONDS`, 5 minutes by default) away from our clock is
refused too (401 `stale_timestamp`): a captured call cannot be replayed later. The platform's
own retries (three within seconds when we do not answer in five) carry fresh timestamps or
fall well inside the window. What is published on raw.wecom, "as received", is the **decrypted
message XML**: it is what the customer sent, it can be replayed onto raw.wecom as it is, and
it contains neither the token nor the AES key (the ciphertext could not be checked again
without them anyway). AES is the `cryptography` package's; nothing here is hand-rolled.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime, timedelta

import defusedxml.ElementTree as defused
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException

from streams.adapters.base import (
    HttpInput,
    Intake,
    Parsed,
    Refusal,
    Reply,
    Skip,
    authentication_failure,
    constant_time_equal,
    digest_key,
    invalid,
)
from streams.domain import timestamps
from streams.domain.rejections import Rejection
from streams.models import CustomerRef, RawEnvelope, RequestSubmission

ADAPTER = "wecom-callback/v1"
CONTENT_TYPE = "application/xml"
_BLOCK = 32  # the protocol pads to 32 bytes, not AES's 16
_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")
DEFAULT_MAX_AGE = timedelta(minutes=5)


class CryptoError(ValueError):
    """The ciphertext cannot be opened (not base64, bad padding, bad length)."""


def aes_key_from_encoding_key(encoding_aes_key: str) -> bytes:
    if not _AES_KEY.match(encoding_aes_key or ""):
        raise ValueError("the EncodingAESKey is 43 characters of [A-Za-z0-9+/]")
    return base64.b64decode(encoding_aes_key + "=")


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class WeComCrypto:
    token: str
    aes_key: bytes
    corp_id: str

    @classmethod
    def create(cls, token: str, encoding_aes_key: str, corp_id: str) -> WeComCrypto:
        return cls(token, aes_key_from_encoding_key(encoding_aes_key), corp_id)

    def signature_ok(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bool:
        return constant_time_equal(signature(self.token, timestamp, nonce, encrypted), msg_signature)

    def decrypt(self, encrypted: str) -> tuple[bytes, str]:
        """The message bytes and the receive id (corp id) inside a ciphertext."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError(f"Encrypt is not base64: {exc}") from None
        if not data or len(data) % 16:
            raise CryptoError("Encrypt is not a whole number of AES blocks")
        decryptor = Cipher(algorithms.AES(self.aes_key), modes.CBC(self.aes_key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("message length exceeds the plaintext")
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        return message, receive_id.decode("utf-8", "replace")

    def encrypt(self, message: bytes, random16: bytes) -> str:
        """For passive replies (and our own tests): the platform's encryption of `message`."""
        padder = padding.PKCS7(_BLOCK * 8).padder()
        plain = random16 + struct.pack(">I", len(message)) + message + self.corp_id.encode("utf-8")
        padded = padder.update(plain) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self.aes_key), modes.CBC(self.aes_key[:16])).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


# -- XML ---------------------------------------------------------------------------------------


def parse_xml(raw: bytes | str) -> ElementTree.Element | Rejection:
    """A flat WeChat XML document. Parsed with defusedxml, which refuses DTDs, entity
    declarations and external references inside the parser itself, whatever the encoding the
    document declares (the platform never sends any)."""
    try:
        root = defused.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return Rejection("invalid_xml", "XML with a DOCTYPE or entity declarations is not accepted")
    except (ElementTree.ParseError, ValueError) as exc:
        return Rejection("invalid_xml", f"body is not well-formed XML: {exc}")
    if root.tag != "xml":
        return Rejection("invalid_xml", f"root element is <{root.tag}>, expected <xml>")
    return root


def _field(root: ElementTree.Element, name: str) -> str | None:
    node = root.find(name)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def _created_at(root: ElementTree.Element) -> datetime | None | Rejection:
    """The message's CreateTime (unix seconds), checked against the accepted range."""
    created = _field(root, "CreateTime")
    if created is None:
        return None
    try:
        if not (created.isascii() and created.isdigit()):
            raise ValueError(f"{created[:40]!r} is not unix seconds")
        return timestamps.from_unix(int(created[:20]))
    except ValueError as exc:
        return Rejection(
            "invalid_request",
            f"CreateTime: {exc}",
            [{"field": "CreateTime", "problem": str(exc), "kind": "value_error"}],
        )


# -- the edge ------------------------------------------------------------------------------------


def _query(request: HttpInput, *names: str) -> list[str] | Refusal:
    values = [request.query.get(name, "") for name in names]
    if not all(values):
        return authentication_failure("missing_signature", f"query parameters {', '.join(names)} are required")
    return values


def _fresh(timestamp: str, received_at: datetime, max_age: timedelta) -> Refusal | None:
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return authentication_failure("bad_signature", "timestamp must be unix seconds")
    skew = abs(received_at.timestamp() - int(timestamp))
    if skew > max_age.total_seconds():
        return authentication_failure(
            "stale_timestamp",
            f"signed {skew:.0f}s away from our clock; at most {max_age.total_seconds():.0f}s is accepted (replay?)",
        )
    return None


def _open(
    crypto: WeComCrypto,
    msg_signature: str,
    timestamp: str,
    nonce: str,
    encrypted: str,
    *,
    received_at: datetime,
    max_age: timedelta,
) -> bytes | Refusal:
    """Verify the signature over a ciphertext and its age, decrypt it and check it was meant for our corp."""
    if not crypto.signature_ok(msg_signature, timestamp, nonce, encrypted):
        return authentication_failure("bad_signature", "msg_signature does not match the encrypted message")
    if (stale := _fresh(timestamp, received_at, max_age)) is not None:
        return stale
    try:
        message, receive_id = crypto.decrypt(encrypted)
    except CryptoError as exc:
        return authentication_failure("bad_signature", f"the message cannot be decrypted with our key: {exc}")
    if receive_id != crypto.corp_id:
        return authentication_failure("wrong_receiver", "the message was encrypted for another corp id", 403)
    return message


def verify_url(request: HttpInput, crypto: WeComCrypto, max_age: timedelta = DEFAULT_MAX_AGE) -> Reply | Refusal:
    """GET: the platform checks that the callback URL is ours; we answer the decrypted echostr."""
    values = _query(request, "msg_signature", "timestamp", "nonce", "echostr")
    if isinstance(values, Refusal):
        return values
    message = _open(crypto, *values, received_at=request.received_at, max_age=max_age)
    if isinstance(message, Refusal):
        return message
    return Reply(200, message.decode("utf-8", "replace"))


def accept(request: HttpInput, crypto: WeComCrypto, max_age: timedelta = DEFAULT_MAX_AGE) -> Intake | Refusal:
    """POST: verify, decrypt, check the corp id, and keep the decrypted message XML."""
    values = _query(request, "msg_signature", "timestamp", "nonce")
    if isinstance(values, Refusal):
        return values
    msg_signature, timestamp, nonce = values
    outer = parse_xml(request.body)
    if isinstance(outer, Rejection):  # nothing can be verified: refused, not published
        return Refusal(400, outer, publish=False)
    encrypted = _field(outer, "Encrypt")
    if not encrypted:
        return Refusal(400, Rejection("invalid_xml", "the callback XML has no <Encrypt> element"), publish=False)
    message = _open(
        crypto, msg_signature, timestamp, nonce, encrypted, received_at=request.received_at, max_age=max_age
    )
    if isinstance(message, Refusal):
        return message
    # Verified from here on: whatever is wrong is kept on requests.invalid (decrypted form).
    inner = parse_xml(message)
    if isinstance(inner, Rejection):
        return invalid(inner.error_code, f"decrypted message: {inner.reason}", message, status=400)
    try:
        body = message.decode("utf-8")
    except UnicodeDecodeError:
        return invalid("invalid_xml", "decrypted message is not UTF-8", message, status=400)
    sender = _field(inner, "FromUserName")
    msg_type = _field(inner, "MsgType")
    if not sender or not msg_type:
        return invalid("invalid_request", "the message has no FromUserName or MsgType", message)
    created = _created_at(inner)
    if isinstance(created, Rejection):
        return invalid(created.error_code, created.reason, message, errors=created.errors)
    key = _field(inner, "MsgId") or digest_key(
        "event", sender, _field(inner, "CreateTime") or "", _field(inner, "Event") or "", message
    )
    return Intake(
        channel="wecom",
        adapter=ADAPTER,
        idempotency_key=key,
        content_type=CONTENT_TYPE,
        body=body,
        received_at=request.received_at,
        sender=CustomerRef(wecom_id=sender),
        reply=Reply(200, ""),
    )


# -- normalize -------------------------------------------------------------------------------------


def _text_of(root: ElementTree.Element, msg_type: str) -> str | None:
    if msg_type == "text":
        return _field(root, "Content")
    if msg_type == "image":
        return f"[图片/image] {_field(root, 'PicUrl') or _field(root, 'MediaId') or ''}".strip()
    if msg_type == "voice":
        return _field(root, "Recognition") or f"[语音/voice] {_field(root, 'MediaId') or ''}".strip()
    if msg_type == "video":
        return f"[视频/video] {_field(root, 'MediaId') or ''}".strip()
    if msg_type == "location":
        return f"[位置/location] {_field(root, 'Label') or ''} ({_field(root, 'Location_X')}, {_field(root, 'Location_Y')})"
    if msg_type == "link":
        parts = [_field(root, "Title"), _field(root, "Description"), _field(root, "Url")]
        return "\n".join(part for part in parts if part) or None
    if msg_type == "file":
        return f"[文件/file] {_field(root, 'Title') or _field(root, 'MediaId') or ''}".strip()
    return None


def parse(envelope: RawEnvelope) -> Parsed | Rejection | Skip:
    root = parse_xml(envelope.body.encode("utf-8"))
    if isinstance(root, Rejection):
        return root
    msg_type = (_field(root, "MsgType") or "").lower()
    sender = _field(root, "FromUserName")
    if msg_type == "event":
        return Skip("wecom_event", f"event {_field(root, 'Event')!r} is not a customer request")
    if not sender:
        return Rejection("invalid_request", "the message has no FromUserName")
    text = _text_of(root, msg_type)
    if not text:
        return Rejection("invalid_request", f"a {msg_type or 'untyped'} message with nothing to read")
    submitted_at = _created_at(root)
    if isinstance(submitted_at, Rejection):
        return submitted_at
    customer = CustomerRef(wecom_id=sender[:128])
    return Parsed(RequestSubmission(customer=customer, text=text[:20_000], subject=None, submitted_at=submitted_at))
