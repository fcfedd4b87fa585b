"""Every public topic of docs/topics.md as an AsyncAPI channel: its address, key, messages and
which side of it the pipeline is on."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from streams.contract.events import EVENT_TYPES
from streams.models import (
    CHANNELS,
    CanonicalRequest,
    ClassifiedRequest,
    CustomerProfile,
    Feedback,
    InvalidRecord,
    RawEnvelope,
    TicketAction,
)


@dataclass(frozen=True)
class Operation:
    action: str  # send | receive, from the pipeline's point of view
    summary: str


@dataclass(frozen=True)
class Channel:
    id: str
    address: str  # the catalog's base name; every name takes TICKETFLOW_TOPIC_PREFIX
    description: str
    key: str  # what the Kafka key is
    operations: tuple[Operation, ...]
    record: type[BaseModel] | None = None  # a plain JSON record; otherwise CloudEvents (EVENT_TYPES)
    parameters: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (name, description, enum or ())
    compacted: bool = False

    @property
    def event_types(self) -> list[str]:
        return [spec.type for spec in EVENT_TYPES if spec.topic == self.address]


_SEND, _RECEIVE = "send", "receive"

CHANNEL_SPECS: tuple[Channel, ...] = (
    Channel(
        "raw",
        "raw.{channel}",
        "Requests exactly as received, one topic per channel.",
        "the sender's (customer's) id, so one customer's requests stay in order",
        (
            Operation(
                _SEND,
                "The gateway, the IMAP poller and the sheet import publish what they receive; the "
                "lifecycle publishes a customer's reply whose ticket was not found (adapter "
                "email-reply/v1, webchat-reply/v1).",
            ),
            Operation(_RECEIVE, "The normalize stage reads every channel."),
        ),
        record=RawEnvelope,
        parameters=(("channel", "the intake channel", CHANNELS),),
    ),
    Channel(
        "requests_invalid",
        "requests.invalid",
        "Rejected records, with all that is needed to fix and replay them.",
        "the request id (or a digest of the bytes)",
        (Operation(_SEND, "Every stage and the gateway send what they reject."),),
        record=InvalidRecord,
    ),
    Channel(
        "requests_normalized",
        "requests.normalized",
        "One customer request in the one shape every stage reads.",
        "the customer id",
        (
            Operation(_SEND, "The normalize stage publishes each canonical request."),
            Operation(_RECEIVE, "The classify stage reads them."),
        ),
        record=CanonicalRequest,
    ),
    Channel(
        "requests_classified",
        "requests.classified",
        "A request with its classification.",
        "the ticket id",
        (
            Operation(_SEND, "The classify stage publishes each classified request."),
            Operation(_RECEIVE, "The lifecycle opens or updates the ticket."),
        ),
        record=ClassifiedRequest,
    ),
    Channel(
        "dept",
        "dept.{department}",
        "A department's queue: routed and transferred tickets.",
        "the ticket id",
        (
            Operation(
                _SEND,
                "The lifecycle routes a new ticket to its owner and the departments in copy, and a "
                "transferred ticket to its new department.",
            ),
        ),
        parameters=(("department", "a department of the routing file (TICKETFLOW_ROUTING_FILE)", ()),),
    ),
    Channel(
        "tickets_actions",
        "tickets.actions",
        "What a person did on a ticket; these move the SLA clock.",
        "the ticket id",
        (
            Operation(
                _SEND,
                "The gateway publishes accepted actions; the lifecycle passes a customer's reply on to "
                "the ticket it continues; `ticketflow sla replay --apply` publishes clock repairs.",
            ),
            Operation(_RECEIVE, "The lifecycle applies each action to its ticket."),
        ),
        record=TicketAction,
    ),
    Channel(
        "sla_events",
        "sla.events",
        "The SLA clocks of every ticket.",
        "the ticket id",
        (Operation(_SEND, "The lifecycle and its timer publish each point of each clock."),),
    ),
    Channel(
        "sla_windows",
        "sla.windows",
        "SLA statistics per hour and day window.",
        "the department",
        (Operation(_SEND, "The windows stage publishes each window once it has closed."),),
    ),
    Channel(
        "followups",
        "followups",
        "Surveys, callbacks and second follow-ups after a ticket is resolved.",
        "the ticket id",
        (
            Operation(
                _SEND, "The follow-up stage publishes due, cancelled and escalated follow-ups (docs/followups.md)."
            ),
        ),
    ),
    Channel(
        "feedback",
        "feedback",
        "Customers' answers to surveys and callbacks.",
        "the ticket id",
        (Operation(_RECEIVE, "The follow-up stage reads answers (from POST /v1/feedback or a survey system)."),),
        record=Feedback,
    ),
    Channel(
        "customers_profiles",
        "customers.profiles",
        "Customer profiles as synchronised from the CRM (compacted).",
        "the customer id",
        (
            Operation(
                _RECEIVE, "The identity and classify stages read profiles; their contact ids feed the contact index."
            ),
        ),
        record=CustomerProfile,
        compacted=True,
    ),
    Channel(
        "care",
        "care",
        "Customer care messages: welcome callbacks, greetings, win-backs.",
        "the customer id",
        (Operation(_SEND, "The care stage publishes each occasion due, or suppressed (docs/followups.md)."),),
    ),
)
