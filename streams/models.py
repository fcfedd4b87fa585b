"""Records that travel on the public topics (docs/topics.md), as pydantic models.

Every model here is plain data: no Kafka, no faust. Agents decode bytes into these,
hand them to the pure domain functions and encode what comes back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from streams import ids
from streams.domain import timestamps

CHANNELS: tuple[str, ...] = ("phone", "app", "wecom", "email", "social", "webchat", "store", "vip")
Channel = Literal["phone", "app", "wecom", "email", "social", "webchat", "store", "vip"]

REQUEST_TYPES: tuple[str, ...] = (
    "inquiry",
    "after_sales",
    "product_issue",
    "service_request",
    "complaint",
    "suggestion",
)
RequestType = Literal["inquiry", "after_sales", "product_issue", "service_request", "complaint", "suggestion"]

URGENCIES: tuple[str, ...] = ("urgent", "high", "normal", "low")
Urgency = Literal["urgent", "high", "normal", "low"]

CUSTOMER_TIERS: tuple[str, ...] = ("vip", "regular", "new", "churn_risk")
CustomerTier = Literal["vip", "regular", "new", "churn_risk"]

Sentiment = Literal["negative", "neutral", "positive"]

ACTION_TYPES: tuple[str, ...] = (
    "reply",
    "progress",
    "pending",
    "customer_reply",
    "resolve",
    "reopen",
    "close",
    "transfer",
)
ActionType = Literal["reply", "progress", "pending", "customer_reply", "resolve", "reopen", "close", "transfer"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """Timestamps without a zone are taken as UTC; everything is stored in UTC, and must fall
    in the accepted range (streams/domain/timestamps.py)."""
    return timestamps.to_utc(value)


UtcDatetime = Annotated[datetime, AfterValidator(_aware)]
# An idempotency key a client chose: printable ASCII (its ids live in their own namespace, streams/ids.py).
ClientKey = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class CustomerRef(_Record):
    """Who the customer says they are, as sent by the channel."""

    id: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=256)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    wecom_id: str | None = Field(default=None, max_length=128)
    tier: CustomerTier | None = None


class ContactIds(_Record):
    """Every contact id known for one customer (how the same person is recognised on any channel)."""

    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    wecom_ids: list[str] = Field(default_factory=list)
    customer_numbers: list[str] = Field(default_factory=list)


class CustomerProfile(_Record):
    """Value of `customers.profiles` (keyed by customer id), as synchronised from the CRM."""

    customer_id: str = Field(min_length=1, max_length=128)
    tier: CustomerTier = "regular"
    name: str | None = Field(default=None, max_length=256)
    customer_since: date | None = None
    birthday: date | None = None
    first_purchase: date | None = None
    preferred_channel: Channel | None = None
    contacts: ContactIds = Field(default_factory=ContactIds)
    updated_at: UtcDatetime | None = None


class RawEnvelope(_Record):
    """Value of `raw.<channel>`: the payload exactly as received, plus how it arrived."""

    channel: Channel
    received_at: UtcDatetime
    adapter: str
    idempotency_key: str
    request_id: str
    ticket_id: str
    content_type: str = "application/json"
    body: str


class RequestSubmission(_Record):
    """Body of `POST /v1/requests/{channel}` and of the generic JSON raw payload."""

    customer: CustomerRef = Field(default_factory=CustomerRef)
    text: str = Field(min_length=1, max_length=20_000)
    subject: str | None = Field(default=None, max_length=1_000)
    submitted_at: UtcDatetime | None = None
    idempotency_key: ClientKey | None = None  # printable ASCII; ids from it live in their own namespace

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value


class RequestOrigin(_Record):
    """Why a request was opened from a message the customer sent as a reply: an e-mail reply
    or a web chat follow-up whose ticket was not found (`no_ticket`: the mail it answers or the
    conversation's opening message never became a ticket here, or its ticket has left the
    table) or was closed (`ticket_closed`). It links the thread (for web chat: the
    conversation's ticket, which a `no_ticket` follow-up opens itself)."""

    kind: Literal["unmatched_reply"] = "unmatched_reply"
    reason: Literal["no_ticket", "ticket_closed"]
    detail: str = Field(max_length=1_000)
    thread_ticket: (
        str  # the ticket the reply was threaded to (by the subject, the thread's first mail, the conversation)
    )
    thread_message_id: str | None = None  # the thread's first mail (None when the subject named the ticket; web chat)
    reply_action_id: str  # the customer_reply action the message first was


class UnmatchedReply(_Record):
    """The request a customer's reply becomes when the ticket it answers is not found.

    E-mail: the adapter puts it on every reply's `customer_reply` action; the lifecycle
    publishes it to raw.email (adapter `email-reply/v1`) when no ticket turns up within the
    hold, or at once when the ticket is closed. Its ids derive from the reply's own idempotency
    key (its Message-ID), as if the mail had been sent as a new request, so a repeat collapses.
    `references` (the Message-IDs it answers, oldest first, at most 20) let a later reply in
    the conversation of a promoted request find that request's ticket.

    Web chat: a follow-up (`seq` > 1) carries the request it would be had it opened the
    conversation: `idempotency_key` is the conversation id, so when the conversation's opening
    message never became a ticket the promoted follow-up (adapter `webchat-reply/v1`) opens the
    conversation's own ticket and the conversation's other messages apply to it. `message_key`
    (`<conversation>:<message>`) is the message's own key: the ids of the request it becomes when
    the conversation's ticket is closed (a new ticket, linked to the closed one)."""

    channel: Channel = "email"
    idempotency_key: str = Field(min_length=1, max_length=1_000)  # Message-ID (or a digest); web chat: conversation id
    received_at: UtcDatetime
    thread_message_id: str | None = Field(default=None, max_length=1_000)
    references: list[Annotated[str, Field(max_length=1_000)]] = Field(default_factory=list, max_length=20)
    message_key: str | None = Field(default=None, max_length=1_000)  # web chat: `<conversation>:<message>`
    sender_handle: str | None = Field(default=None, max_length=300)  # the channel account, when no contact id is known
    submission: RequestSubmission

    @property
    def in_conversation(self) -> bool:
        """A message of a live conversation (web chat), whose messages go on in one ticket."""
        return self.message_key is not None

    def promoted_key(self, reason: str) -> str:
        """The idempotency key of the request this reply becomes: its own key; for a web chat
        follow-up on a closed ticket, the message's key (the conversation's is that ticket's)."""
        if reason == "ticket_closed" and self.message_key is not None:
            return self.message_key
        return self.idempotency_key

    @property
    def request_id(self) -> str:
        return ids.request_id(self.channel, self.idempotency_key)

    @property
    def ticket_id(self) -> str:
        return ids.ticket_id(self.channel, self.idempotency_key)

    def action_id_on(self, ticket_id: str) -> str:
        """The id of this reply's customer_reply action on a ticket it is passed on to."""
        return ids.action_id(ticket_id, f"{self.channel}:{self.message_key or self.idempotency_key}")

    def referenced_tickets(self) -> list[str]:
        """The tickets the mails this reply references would have opened, most recent mail first."""
        return [ids.ticket_id(self.channel, reference) for reference in reversed(self.references)]


class PromotedReply(_Record):
    """Body of a raw.<channel> record of adapter `<channel>-reply/v1` (`email-reply/v1`,
    `webchat-reply/v1`): a reply that became a request."""

    submission: RequestSubmission
    origin: RequestOrigin
    sender_handle: str | None = Field(default=None, max_length=300)


class CanonicalRequest(_Record):
    """Value of `requests.normalized`: one customer request in the one shape every stage reads."""

    request_id: str
    ticket_id: str
    channel: Channel
    customer_id: str
    customer: CustomerRef
    text: str
    subject: str | None = None
    language: Literal["zh", "en", "mixed"]
    submitted_at: UtcDatetime
    received_at: UtcDatetime
    idempotency_key: str
    origin: RequestOrigin | None = (
        None  # set when the request was a reply (e-mail, web chat) whose ticket was not found
    )


class Classification(_Record):
    type: RequestType
    urgency: Urgency
    complaint_grade: Literal[1, 2, 3] | None = None
    sentiment: Sentiment = "neutral"
    angry: bool = False
    aspects: list[str] = Field(default_factory=list)
    segment: CustomerTier = "regular"
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)
    model_version: str
    repeat_of: str | None = None  # the earlier ticket this request repeats (same customer, same issue)


class ClassifiedRequest(_Record):
    """Value of `requests.classified`."""

    request: CanonicalRequest
    classification: Classification


class ClockRepair(_Record):
    """Recomputed clocks for one ticket, from `ticketflow sla replay --apply` after a policy change."""

    policy: str
    clocks: dict[str, dict[str, Any]]
    based_on_action: str | None = None  # the last action the replay saw; a newer one makes the repair stale
    sequence: int = Field(default=1, ge=1)


class TicketAction(_Record):
    """Value of `tickets.actions`: something a person did on a ticket; these move the SLA clock.

    `repair` is internal: published by `ticketflow sla replay --apply`, never accepted by the gateway;
    `unmatched` is set by the e-mail and web chat adapters on a customer's reply (see `UnmatchedReply`)."""

    action_id: str
    ticket_id: str
    type: ActionType | Literal["repair"]
    by: str = Field(min_length=1, max_length=128)
    at: UtcDatetime
    automated: bool = False
    department: str | None = Field(default=None, max_length=64)
    channel: Channel | None = None
    note: str | None = Field(default=None, max_length=2_000)
    repair: ClockRepair | None = None
    unmatched: UnmatchedReply | None = (
        None  # e-mail, web chat replies: the request it becomes if its ticket is not found
    )


ACTION_AHEAD_SECONDS = 300  # an action's `at` may be this far ahead of our clock (skew), no further


def _not_ahead(value: datetime | None) -> datetime | None:
    if value is not None and (value - utc_now()).total_seconds() > ACTION_AHEAD_SECONDS:
        raise ValueError(f"is in the future (more than {ACTION_AHEAD_SECONDS}s ahead of the gateway's clock)")
    return value


class ActionSubmission(_Record):
    """Body of `POST /v1/tickets/{ticket_id}/actions`."""

    type: ActionType
    by: str = Field(min_length=1, max_length=128)
    at: Annotated[UtcDatetime | None, AfterValidator(_not_ahead)] = None
    automated: bool = False
    department: str | None = Field(default=None, max_length=64)
    channel: Channel | None = None
    note: str | None = Field(default=None, max_length=2_000)
    idempotency_key: ClientKey | None = None


class FeedbackSubmission(_Record):
    """Body of `POST /v1/feedback`: a customer's answer to a survey or callback (docs/followups.md).

    At least one of csat, nps, satisfied or comment; `satisfied: false` is an explicit "not
    satisfied" (e.g. a key pressed on a phone survey)."""

    ticket_id: str = Field(min_length=1, max_length=128)
    csat: int | None = Field(default=None, ge=1, le=5, strict=True)
    nps: int | None = Field(default=None, ge=0, le=10, strict=True)
    satisfied: bool | None = None
    comment: str | None = Field(default=None, max_length=5_000)
    answered_at: UtcDatetime | None = None
    channel: Channel | None = None
    idempotency_key: ClientKey | None = None

    @model_validator(mode="after")
    def _some_answer(self) -> FeedbackSubmission:
        if self.csat is None and self.nps is None and self.satisfied is None and not (self.comment or "").strip():
            raise ValueError("feedback needs at least one of csat, nps, satisfied or comment")
        return self


class Feedback(FeedbackSubmission):
    """Value of `feedback` (keyed by ticket id): an answer as received, with its deterministic id."""

    feedback_id: str = Field(min_length=1, max_length=128)
    received_at: UtcDatetime
    source: str = Field(default="gateway", max_length=64)  # or the survey system that produced it


class InvalidRecord(_Record):
    """Value of `requests.invalid`: a rejected record with all that is needed to fix and replay it."""

    request_id: str
    channel: str
    stage: Literal["gateway", "normalize", "classify", "lifecycle", "followups"]
    error_code: str
    reason: str
    errors: list[dict[str, Any]] = Field(default_factory=list)
    rejected_at: UtcDatetime
    replay_topic: str | None = None
    source: dict[str, Any] | None = None
    envelope: dict[str, Any] | None = None
    raw_value: str | None = None
