"""The senders' side of each channel's protocol: a simulated request (streams/simulator.py) as
the calls its channel really makes to the gateway.

| channel                    | what is sent                                                                |
|----------------------------|-----------------------------------------------------------------------------|
| app, webchat, social, vip  | the channel's own JSON body, signed (`x-ticketflow-timestamp`/`-signature`) |
| phone                      | CTI call events: offered → answered → wrap-up (or offered → abandoned)       |
| wecom                      | the WeChat Work callback: message XML encrypted and signed for our corp     |
| email                      | an RFC 5322 mail for the SMTP intake (replies carry In-Reply-To/References) |
| store                      | the generic JSON request (`POST /v1/requests/store`)                        |

Pure: no network and no clock of its own (the caller says when each call is made, so a
signature's timestamp is the moment it is sent). A malformed request is its channel's broken
payload inside a valid envelope — signed, encrypted or mailed — so it reaches requests.invalid
instead of being refused as unauthenticated. A repeated request is the same message again (same
message ids), which the gateway collapses.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import Any

from streams import ids
from streams.adapters import cti, email, generic, webhook, wecom
from streams.simulator import SimulatedCall, SimulatedRequest

SUPPORT_ADDRESS = "support@ticketflow.example"
MAIL_DOMAIN = "mail.customer.example"
WEBHOOK_CHANNELS = ("app", "webchat", "social", "vip")
SOCIAL_PLATFORMS = ("weibo", "douyin", "xiaohongshu", "wechat_official")


@dataclass(frozen=True)
class ChannelSecrets:
    """What the senders sign and encrypt with (the same values the gateway verifies with)."""

    webhook: Mapping[str, bytes] = field(default_factory=dict)  # channel → HMAC secret (phone: CTI)
    wecom: wecom.WeComCrypto | None = None
    api_token: str | None = None  # bearer token of the generic endpoints, when the gateway requires one

    def __repr__(self) -> str:  # never show a secret
        return f"ChannelSecrets(webhook={sorted(self.webhook)}, wecom={self.wecom is not None}, api_token=…)"


@dataclass(frozen=True)
class HttpCall:
    path: str
    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"


@dataclass(frozen=True)
class Mail:
    envelope_from: str
    recipients: tuple[str, ...]
    message: bytes


@dataclass(frozen=True)
class Outbound:
    """One call to make at `at` (unix seconds). `opens` is the ticket the call creates, when it
    creates one the service desk should work on; `follows_up` the ticket a customer wrote again on."""

    channel: str
    adapter: str
    at: float
    call: HttpCall | Mail
    opens: str | None = None
    follows_up: str | None = None


def encode(request: SimulatedRequest, keys: ChannelSecrets, now: float, *, mail: bool = True) -> list[Outbound]:
    """The calls that deliver `request` on its channel, the first made at `now` (e-mail on the
    generic endpoint when `mail` is false: a gateway without its SMTP intake)."""
    channel = request.channel
    if channel in WEBHOOK_CHANNELS:
        return [_webhook(request, keys, now)]
    if channel == "phone":
        return _phone(request, keys, now)
    if channel == "wecom":
        return [_wecom(request, keys, now)]
    if channel == "email" and mail:
        return [_email(request, now)]
    return [_generic(request, keys, now)]


# -- helpers -------------------------------------------------------------------------------------


def _pick(key: str, options: tuple[str, ...] | list[str]) -> str:
    """A stable choice for a key (the same customer or message always gets the same one)."""
    return options[int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % len(options)]


def _handle(customer: Mapping[str, Any]) -> str:
    """A channel account id for a customer (stable per customer)."""
    identity = customer.get("id") or customer.get("phone") or customer.get("email") or customer.get("wecom_id") or ""
    return "u" + hashlib.sha256(str(identity).encode("utf-8")).hexdigest()[:12]


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def _json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signed_call(path: str, body: bytes, secret: bytes | None, at: float) -> HttpCall:
    """A webhook call signed as the sender does at `at`: HMAC-SHA256 over "<timestamp>.<body>"."""
    timestamp = str(int(at))
    headers = {"Content-Type": "application/json", webhook.TIMESTAMP_HEADER: timestamp}
    if secret:
        headers[webhook.SIGNATURE_HEADER] = webhook.sign(secret, timestamp, body)
    return HttpCall(path, body, headers)


# -- signed webhooks -------------------------------------------------------------------------


def webhook_body(request: SimulatedRequest) -> tuple[dict[str, Any], str]:
    """The channel's own JSON document for a request, and the key its ticket derives from."""
    payload = request.payload or {}
    customer, text, key = payload["customer"], payload["text"], payload["idempotency_key"]
    sent_at = payload.get("submitted_at")
    channel = request.channel
    if channel == "app":
        user = {
            "user_id": customer.get("id") or _handle(customer),
            "phone": customer.get("phone"),
            "email": customer.get("email"),
            "name": customer.get("name"),
        }
        document = {
            "feedback_id": key,
            "user": {k: v for k, v in user.items() if v},
            "content": text,
            "category": request.expected_type,
            "app_version": "5.12.0",
            "platform": _pick(key, ["ios", "android"]),
            "created_at": sent_at,
        }
        return document, key
    if channel == "webchat":
        conversation = f"conv-{request.thread_key or key}"
        visitor = {
            "visitor_id": _handle(customer),
            "customer_number": customer.get("id"),
            "name": customer.get("name"),
            "phone": customer.get("phone"),
            "email": customer.get("email"),
        }
        document = {
            "conversation_id": conversation,
            "message_id": f"msg-{key}",
            "seq": request.seq,
            "visitor": {k: v for k, v in visitor.items() if v},
            "text": text,
            "sent_at": sent_at,
        }
        return document, conversation
    if channel == "social":
        platform = _pick(key, SOCIAL_PLATFORMS)
        sender = {"user_id": _handle(customer), "nickname": customer.get("name"), "phone": customer.get("phone")}
        document = {
            "platform": platform,
            "message_id": key,
            "sender": {k: v for k, v in sender.items() if v},
            "text": text,
            "sent_at": sent_at,
        }
        return document, f"{platform}:{key}"
    if channel == "vip":
        person = {
            "customer_number": customer.get("id"),
            "name": customer.get("name"),
            "phone": customer.get("phone"),
            "email": customer.get("email"),
        }
        manager = _pick(_handle(customer), [f"am-{number:02d}" for number in range(1, 13)])
        document = {
            "report_id": key,
            "manager": {"id": manager},
            "customer": {k: v for k, v in person.items() if v},
            "summary": text[:1_000],
            "reported_at": sent_at,
        }
        return document, key
    raise ValueError(f"{channel!r} is not a webhook channel")


def _webhook(request: SimulatedRequest, keys: ChannelSecrets, now: float) -> Outbound:
    channel = request.channel
    path = f"/v1/channels/{channel}/webhook"
    secret = keys.webhook.get(channel)
    if request.payload is None:
        return Outbound(channel, webhook.ADAPTER, now, signed_call(path, request.raw_body or b"", secret, now))
    document, ticket_key = webhook_body(request)
    call = signed_call(path, _json(document), secret, now)
    ticket = ids.ticket_id(channel, ticket_key)
    if request.seq > 1:
        return Outbound(
            channel, webhook.ADAPTER, now, call, follows_up=None if request.duplicate_of is not None else ticket
        )
    return Outbound(channel, webhook.ADAPTER, now, call, opens=None if request.duplicate_of is not None else ticket)


# -- phone: CTI call events ----------------------------------------------------------------------


def call_events(request: SimulatedRequest, now: float) -> list[tuple[float, dict[str, Any]]]:
    """The CTI platform's events for a call, each with the moment it is sent.

    Long queue waits are reported, not waited for: the offered event carries the moment the
    call really started, at most 30 s before the answer is sent."""
    payload = request.payload or {}
    call = request.call or SimulatedCall("general", "1", "agent-01", 10.0, 20.0)
    customer, key = payload["customer"], payload["idempotency_key"]
    call_id = f"call-{key}"
    caller = {"caller": customer.get("phone"), "customer_number": customer.get("id")}
    caller = {k: v for k, v in caller.items() if v}
    shown_wait = min(call.wait_seconds, 30.0)
    offered_at = now + shown_wait - call.wait_seconds
    offered = {
        "event": "offered",
        "call_id": call_id,
        "at": _iso(offered_at),
        "queue": call.queue,
        "ivr_choice": call.ivr_choice,
        **caller,
    }
    ended = now + shown_wait
    if not call.answered:
        abandoned = {
            "event": "abandoned",
            "call_id": call_id,
            "at": _iso(ended),
            "offered_at": _iso(offered_at),
            "queue": call.queue,
            "ivr_choice": call.ivr_choice,
            "callback_requested": call.callback_requested,
            **caller,
        }
        return [(now, offered), (ended, abandoned)]
    answered = {
        "event": "answered",
        "call_id": call_id,
        "at": _iso(ended),
        "offered_at": _iso(offered_at),
        "agent_id": call.agent_id,
        "queue": call.queue,
        **caller,
    }
    wrapped = ended + call.talk_seconds
    wrap_up = {
        "event": "wrap_up",
        "call_id": call_id,
        "at": _iso(wrapped),
        "offered_at": _iso(offered_at),
        "answered_at": _iso(ended),
        "agent_id": call.agent_id,
        "queue": call.queue,
        "ivr_choice": call.ivr_choice,
        "notes": payload["text"],
        "resolved": call.resolved_on_call,
        **caller,
    }
    return [(now, offered), (ended, answered), (wrapped, wrap_up)]


def _phone(request: SimulatedRequest, keys: ChannelSecrets, now: float) -> list[Outbound]:
    path = "/v1/channels/phone/events"
    secret = keys.webhook.get("phone")
    if request.payload is None:
        return [Outbound("phone", cti.ADAPTER, now, signed_call(path, request.raw_body or b"", secret, now))]
    events = call_events(request, now)
    if request.duplicate_of is not None:  # the platform redelivers the call's last event
        events = [(now, events[-1][1])]
    call = request.call
    ticket = ids.ticket_id("phone", events[-1][1]["call_id"])
    works_on = (
        request.duplicate_of is None
        and call is not None
        and ((call.answered and not call.resolved_on_call) or call.callback_requested)
    )
    calls = [Outbound("phone", cti.ADAPTER, at, signed_call(path, _json(event), secret, at)) for at, event in events]
    if works_on:
        calls[-1] = Outbound("phone", cti.ADAPTER, calls[-1].at, calls[-1].call, opens=ticket)
    return calls


# -- WeChat Work ---------------------------------------------------------------------------------


def wecom_message(request: SimulatedRequest, corp_id: str, now: float) -> tuple[bytes, str]:
    """The text message XML the platform would deliver, and its MsgId."""
    payload = request.payload or {}
    customer, key = payload["customer"], payload["idempotency_key"]
    msg_id = str(int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:15], 16))  # the platform's ids are numbers
    sender = customer.get("wecom_id") or "wm" + _handle(customer)
    content = payload["text"].replace("]]>", "]]]]><![CDATA[>")
    xml = (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{int(now)}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )
    return xml.encode("utf-8"), msg_id


def wecom_callback(message: bytes, crypto: wecom.WeComCrypto, at: float) -> HttpCall:
    """The platform's POST for a message: encrypted for our corp, signed with the token."""
    encrypted = crypto.encrypt(message, secrets.token_bytes(16))
    timestamp, nonce = str(int(at)), str(secrets.randbelow(10**10))
    query = {
        "msg_signature": wecom.signature(crypto.token, timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    body = (
        f"<xml><ToUserName><![CDATA[{crypto.corp_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    ).encode("ascii")
    return HttpCall("/v1/channels/wecom/callback", body, {"Content-Type": wecom.CONTENT_TYPE}, query)


def _wecom(request: SimulatedRequest, keys: ChannelSecrets, now: float) -> Outbound:
    crypto = keys.wecom
    if crypto is None:  # not configured: the gateway refuses it (403), as it would the platform
        crypto = wecom.WeComCrypto(token="unconfigured", aes_key=b"\0" * 32, corp_id="unconfigured")
    if request.payload is None:
        return Outbound("wecom", wecom.ADAPTER, now, wecom_callback(request.raw_body or b"", crypto, now))
    message, msg_id = wecom_message(request, crypto.corp_id, now)
    ticket = None if request.duplicate_of is not None else ids.ticket_id("wecom", msg_id)
    return Outbound("wecom", wecom.ADAPTER, now, wecom_callback(message, crypto, now), opens=ticket)


# -- e-mail ------------------------------------------------------------------------------------


def message_id(key: str) -> str:
    return f"{key}@{MAIL_DOMAIN}"


def mail_message(request: SimulatedRequest) -> bytes:
    """The customer's mail (a reply to the conversation's first mail when it follows up)."""
    payload = request.payload or {}
    customer = payload["customer"]
    address = customer.get("email") or f"{_handle(customer)}@{MAIL_DOMAIN}"
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((customer.get("name") or "", address))
    message["To"] = SUPPORT_ADDRESS
    message["Subject"] = payload.get("subject") or payload["text"][:24]
    message["Message-ID"] = f"<{message_id(payload['idempotency_key'])}>"
    if submitted := payload.get("submitted_at"):
        message["Date"] = format_datetime(datetime.fromisoformat(submitted))
    if request.thread_key:
        message["In-Reply-To"] = f"<{message_id(request.thread_key)}>"
        message["References"] = f"<{message_id(request.thread_key)}>"
    message.set_content(payload["text"])
    return message.as_bytes()


def _email(request: SimulatedRequest, now: float) -> Outbound:
    if request.payload is None:
        broken = Mail(f"unknown@{MAIL_DOMAIN}", (SUPPORT_ADDRESS,), request.raw_body or b"")
        return Outbound("email", email.SMTP_ADAPTER, now, broken)
    customer = request.payload["customer"]
    mail = Mail(
        customer.get("email") or f"{_handle(customer)}@{MAIL_DOMAIN}", (SUPPORT_ADDRESS,), mail_message(request)
    )
    repeat = request.duplicate_of is not None
    if request.thread_key:
        ticket = ids.ticket_id("email", message_id(request.thread_key))
        return Outbound("email", email.SMTP_ADAPTER, now, mail, follows_up=None if repeat else ticket)
    ticket = ids.ticket_id("email", message_id(request.payload["idempotency_key"]))
    return Outbound("email", email.SMTP_ADAPTER, now, mail, opens=None if repeat else ticket)


# -- the generic endpoint (store front desk) --------------------------------------------------------


def _generic(request: SimulatedRequest, keys: ChannelSecrets, now: float) -> Outbound:
    headers = {"Content-Type": "application/json"}
    if keys.api_token:
        headers["Authorization"] = f"Bearer {keys.api_token}"
    path = f"/v1/requests/{request.channel}"
    if request.payload is None:
        return Outbound(request.channel, generic.ADAPTER, now, HttpCall(path, request.raw_body or b"", headers))
    ticket = ids.ticket_id(request.channel, request.payload["idempotency_key"], ids.CLIENT_KEYS)
    return Outbound(
        request.channel,
        generic.ADAPTER,
        now,
        HttpCall(path, _json(request.payload), headers),
        opens=None if request.duplicate_of is not None else ticket,
    )
