"""Phone hotline: call events from the CTI platform, as signed JSON webhooks (see webhook.py
for the signature headers).

    {"event": "offered" | "answered" | "abandoned" | "wrap_up", "call_id": "…", "at": "…",
     "caller": "+86 138…", "queue": "…", "agent_id": "…", "offered_at": "…", "answered_at": "…",
     "ivr_choice": "2", "notes": "…", "customer_number": "…", "callback_requested": true,
     "resolved": false}

Every event is kept on raw.phone (the channel's call log; idempotency key `<call id>:<event>`).
A **wrap-up** creates the request — the agent's notes, the IVR choice — with the clock started
when the call was offered; because an agent spoke to the customer, it also publishes a `reply`
action at the moment the call was answered (by that agent), and a `resolve` when the agent
marked the call resolved. An **abandoned** call is counted and, when the caller asked for a
callback in the IVR (or left a number and the platform flags it), becomes a callback request.
Request and ticket ids derive from the call id, so a call is one ticket whatever is redelivered.
**Offered → answered** gives the "answered within 10 minutes" measure (the gateway observes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams import ids
from streams.adapters.base import (
    HttpInput,
    Intake,
    Parsed,
    Refusal,
    Skip,
    clamp_to,
    load_json_object,
)
from streams.adapters.webhook import DEFAULT_MAX_AGE, verify_signature
from streams.domain.rejections import Rejection, describe_validation_error
from streams.models import (
    CustomerRef,
    RawEnvelope,
    RequestSubmission,
    TicketAction,
    UtcDatetime,
)

ADAPTER = "cti-webhook/v1"
CallEventKind = Literal["offered", "answered", "abandoned", "wrap_up"]


class CallEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event: CallEventKind
    call_id: str = Field(min_length=1, max_length=128)
    at: UtcDatetime
    caller: str | None = Field(default=None, max_length=64)
    customer_number: str | None = Field(default=None, max_length=128)
    queue: str | None = Field(default=None, max_length=64)
    agent_id: str | None = Field(default=None, max_length=128)
    offered_at: UtcDatetime | None = None
    answered_at: UtcDatetime | None = None
    ivr_choice: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=20_000)
    callback_requested: bool = False
    resolved: bool = False

    @property
    def customer(self) -> CustomerRef:
        return CustomerRef(id=self.customer_number, phone=self.caller)


def parse_event(body: bytes | str) -> CallEvent | Rejection:
    document = load_json_object(body)
    if isinstance(document, Rejection):
        return document
    try:
        event = CallEvent.model_validate(document)
    except ValidationError as exc:
        reason, details = describe_validation_error(exc)
        return Rejection("invalid_request", reason, details)
    if event.event == "wrap_up" and not (event.notes and event.notes.strip()):
        return Rejection(
            "invalid_request",
            "a wrap-up needs the agent's notes",
            [{"field": "notes", "problem": "required for wrap_up", "kind": "missing"}],
        )
    return event


def _wrap_up_actions(event: CallEvent, received_at: datetime) -> tuple[TicketAction, ...]:
    ticket = ids.ticket_id("phone", event.call_id)
    actions = []
    agent = event.agent_id or "hotline-agent"
    if event.answered_at is not None:
        actions.append(
            TicketAction(
                action_id=ids.action_id(ticket, f"call:{event.call_id}:answered"),
                ticket_id=ticket,
                type="reply",
                by=agent,
                at=clamp_to(event.answered_at, received_at),
                channel="phone",
                note="call answered",
            )
        )
    if event.resolved:
        actions.append(
            TicketAction(
                action_id=ids.action_id(ticket, f"call:{event.call_id}:resolved"),
                ticket_id=ticket,
                type="resolve",
                by=agent,
                at=clamp_to(event.at, received_at),
                channel="phone",
                note="resolved on the call",
            )
        )
    return tuple(actions)


def accept(request: HttpInput, secret: bytes | None, max_age: timedelta = DEFAULT_MAX_AGE) -> Intake | Refusal:
    refused = verify_signature(request, secret, max_age)
    if refused is not None:
        return refused
    event = parse_event(request.body)
    if isinstance(event, Rejection):
        status = 400 if event.error_code == "invalid_json" else 422
        return Refusal(status, event, publish=True, raw=request.body)
    actions = _wrap_up_actions(event, request.received_at) if event.event == "wrap_up" else ()
    return Intake(
        channel="phone",
        adapter=ADAPTER,
        idempotency_key=f"{event.call_id}:{event.event}",
        content_type="application/json",
        body=request.body.decode("utf-8"),
        received_at=request.received_at,
        sender=event.customer,
        ticket_key=event.call_id,
        actions=actions,
    )


@dataclass(frozen=True)
class AnswerWait:
    """How long a caller waited before an agent answered."""

    call_id: str
    seconds: float


def answer_wait(event: CallEvent, offered_at: datetime | None) -> AnswerWait | None:
    """For an `answered` event: the wait since the call was offered (from the event or as seen)."""
    start = event.offered_at or offered_at
    if event.event != "answered" or start is None:
        return None
    return AnswerWait(event.call_id, max(0.0, (event.at - start).total_seconds()))


def parse(envelope: RawEnvelope) -> Parsed | Rejection | Skip:
    event = parse_event(envelope.body)
    if isinstance(event, Rejection):
        return event
    ivr = f"IVR {event.ivr_choice}" if event.ivr_choice else None
    queue = f"queue {event.queue}" if event.queue else None
    subject = " · ".join(part for part in ("热线 hotline", ivr, queue) if part)
    started = event.offered_at or event.at
    if event.event == "wrap_up":
        text = event.notes or ""
        return Parsed(RequestSubmission(customer=event.customer, text=text, subject=subject, submitted_at=started))
    if event.event == "abandoned" and event.callback_requested and event.caller:
        text = "来电未接通，客户要求回电 (abandoned call, callback requested)" + (f"; {ivr}" if ivr else "")
        return Parsed(RequestSubmission(customer=event.customer, text=text, subject=subject, submitted_at=started))
    return Skip("call_event", f"a call {event.event} event is part of the call log, not a request")
