"""The `data` of every CloudEvent type the pipeline emits, as pydantic models (docs/topics.md,
docs/followups.md), and the catalogue of types: topic, source, subject, data model.

The builders in streams/domain/events.py, streams/domain/followups/events.py and
streams/stages/windows.py produce these dicts; the models describe them for docs/asyncapi.yaml
and tests/contract checks every emitted event against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.domain.events import SOURCE_LIFECYCLE, SOURCE_ROUTER
from streams.domain.followups.care import SuppressReason
from streams.domain.followups.events import SOURCE_CARE, SOURCE_FOLLOWUPS
from streams.domain.followups.files import Occasion
from streams.domain.followups.surveys import CancelReason, FollowupKind
from streams.models import Channel, Classification, CustomerRef, RequestOrigin, RequestType, Urgency

SOURCE_SLA_WINDOWS = "/ticketflow/sla-windows"

# UTC, milliseconds, `Z` (streams/domain/events.py `iso`).
Timestamp = Annotated[
    str,
    Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", json_schema_extra={"format": "date-time"}),
]
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})]


def absent(description: str) -> Any:
    """A field that is left out when it does not apply (never sent as null)."""
    return Field(default=None, description=description)


def _no_null_defaults(schema: dict[str, Any], model: type) -> None:
    for field in schema.get("properties", {}).values():
        if "default" in field and field["default"] is None:
            del field["default"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_defaults)


# -- dept.<department> ---------------------------------------------------------------------------


class _TicketData(_Data):
    ticket_id: str
    request_id: str | None
    department: str = Field(description="the department whose queue this copy is for")
    owner_department: str | None
    handling_department: str | None
    cc: list[str]
    customer_id: str | None
    channel: Channel | None
    type: RequestType | None
    priority: Urgency | None
    complaint_grade: int | None
    policy: str | None
    submitted_at: Timestamp | None
    due: dict[str, Timestamp] = Field(description="due moment per SLA metric")
    routing_reasons: list[str]
    origin: RequestOrigin = absent("the request was a reply whose ticket was not found")
    promoted_replies: list[str] = absent("replies in this ticket's thread that became tickets of their own")
    customer: CustomerRef = absent("with the request: who the customer says they are")
    subject: str | None = absent("with the request")
    text: str = absent("with the request")
    language: Literal["zh", "en", "mixed"] = absent("with the request")
    classification: Classification = absent("with the request")


class TicketRoutedData(_TicketData):
    role: Literal["owner", "cc"]


class TicketTransferredData(_TicketData):
    role: Literal["transfer"]


# -- sla.events ----------------------------------------------------------------------------------


class _SlaData(_Data):
    ticket_id: str
    metric: str = Field(description="first_response, next_response or resolution")
    cycle: int
    level: int = Field(description="warning: percent of the target; escalated: ladder level; paused/resumed: pause number")
    policy: str | None
    due_at: Timestamp | None
    at: Timestamp = Field(description="the moment the event is about")
    emitted_at: Timestamp
    department: str | None
    handling_department: str | None
    channel: Channel | None
    priority: Urgency | None
    type: RequestType | None
    complaint_grade: int | None
    customer_id: str | None
    remaining_seconds: float = absent("with a due moment not yet passed")
    overdue_seconds: float = absent("with a due moment passed")
    repair: int = absent("activated by a policy repair: its sequence number")


class SlaActivatedData(_SlaData):
    pass


class SlaPausedData(_SlaData):
    pass


class SlaResumedData(_SlaData):
    pass


class _LateSlaData(_SlaData):
    late: bool = Field(description="emitted after its moment (e.g. due during an outage)")


class SlaWarningData(_LateSlaData):
    pass


class SlaBreachedData(_LateSlaData):
    pass


class SlaEscalatedData(_LateSlaData):
    notify: list[str]


class SlaFulfilledData(_SlaData):
    within_target: bool
    elapsed_seconds: float = Field(description="business seconds, pauses excluded")


# -- sla.windows ---------------------------------------------------------------------------------


class SlaWindowClosedData(_Data):
    department: str
    channel: str
    priority: str
    size: Literal["hour", "day"]
    start: Timestamp
    end: Timestamp
    received: int
    responded: int
    responded_in_time: int
    resolved: int
    resolved_in_time: int
    breached: dict[str, int] = Field(description="breaches per metric")
    first_response_compliance: float | None
    resolution_compliance: float | None
    first_response_median_seconds: float | None
    first_response_p90_seconds: float | None
    revision: int


# -- followups -----------------------------------------------------------------------------------


class _FollowupData(_Data):
    ticket_id: str
    customer_id: str
    kind: FollowupKind
    survey: str = Field(description="the survey of the follow-up file, or second-followup")
    cycle: int
    via: str
    channel: str
    language: str | None
    resolved_at: Timestamp
    due_at: Timestamp
    emitted_at: Timestamp
    held_until: Timestamp = absent("quiet hours or the contact gap moved it")
    feedback_id: str = absent("second follow-up: the answer it follows")


class FollowupSurveyDueData(_FollowupData):
    kind: Literal["survey"]
    late: bool


class FollowupCallbackDueData(_FollowupData):
    kind: Literal["callback"]
    late: bool


class FollowupSecondFollowupDueData(_FollowupData):
    kind: Literal["second_followup"]
    late: bool


class FollowupCancelledData(_FollowupData):
    reason: CancelReason
    detail: str


class FollowupEscalatedData(_Data):
    ticket_id: str
    customer_id: str | None
    feedback_id: str
    policy: str | None
    notify: list[str]
    reasons: list[str]
    csat: int | None
    nps: int | None
    reopened: bool
    emitted_at: Timestamp


# -- care ----------------------------------------------------------------------------------------


class _CareData(_Data):
    customer_id: str
    occasion: Occasion
    occasion_key: str
    occasion_day: Day
    send_day: Day
    tier: str
    via: str
    channel: str
    due_at: Timestamp
    emitted_at: Timestamp


class CareNewCustomerCallbackData(_CareData):
    occasion: Literal["new_customer_callback"]
    late: bool


class CareBirthdayData(_CareData):
    occasion: Literal["birthday"]
    late: bool


class CareWinBackData(_CareData):
    occasion: Literal["win_back"]
    late: bool


class CareAnniversaryData(_CareData):
    occasion: Literal["anniversary"]
    late: bool


class CareSuppressedData(_CareData):
    reason: SuppressReason
    detail: str


# -- the catalogue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    type: str
    topic: str  # the catalog's base name (streams/catalog.py); `dept.{department}` for the queues
    source: str
    subject: str
    data: type[BaseModel]
    summary: str


_TICKET, _CUSTOMER, _DEPARTMENT = "ticket id", "customer id", "department"

EVENT_TYPES: tuple[EventType, ...] = (
    EventType("ticket.routed", "dept.{department}", SOURCE_ROUTER, _TICKET, TicketRoutedData,
              "A new ticket, as its owner department or a department in copy receives it."),
    EventType("ticket.transferred", "dept.{department}", SOURCE_ROUTER, _TICKET, TicketTransferredData,
              "A ticket transferred to this department (its text is in the ticket.routed copy)."),
    EventType("sla.activated", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaActivatedData,
              "An SLA clock started (or was recomputed by a policy repair)."),
    EventType("sla.paused", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaPausedData,
              "An SLA clock paused while the ticket waits on the customer."),
    EventType("sla.resumed", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaResumedData,
              "A paused SLA clock running again."),
    EventType("sla.warning", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaWarningData,
              "A warning fraction of an SLA target reached."),
    EventType("sla.breached", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaBreachedData,
              "An SLA target missed."),
    EventType("sla.escalated", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaEscalatedData,
              "A level of the escalation ladder after a breach, with the people to notify."),
    EventType("sla.fulfilled", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaFulfilledData,
              "An SLA clock stopped by the action that fulfils it."),
    EventType("sla.window.closed", "sla.windows", SOURCE_SLA_WINDOWS, _DEPARTMENT, SlaWindowClosedData,
              "One closed hour or day window of one department × channel × priority (a new revision if late facts change it)."),
    EventType("followup.survey_due", "followups", SOURCE_FOLLOWUPS, _TICKET, FollowupSurveyDueData,
              "A satisfaction survey is due."),
    EventType("followup.callback_due", "followups", SOURCE_FOLLOWUPS, _TICKET, FollowupCallbackDueData,
              "A callback is due."),
    EventType("followup.second_followup_due", "followups", SOURCE_FOLLOWUPS, _TICKET,
              FollowupSecondFollowupDueData, "The second follow-up of a dissatisfied customer is due."),
    EventType("followup.cancelled", "followups", SOURCE_FOLLOWUPS, _TICKET, FollowupCancelledData,
              "A scheduled follow-up no longer applies."),
    EventType("followup.escalated", "followups", SOURCE_FOLLOWUPS, _TICKET, FollowupEscalatedData,
              "A dissatisfied answer, for the people to notify."),
    EventType("care.new_customer_callback", "care", SOURCE_CARE, _CUSTOMER, CareNewCustomerCallbackData,
              "A welcome callback to a new customer is due."),
    EventType("care.birthday", "care", SOURCE_CARE, _CUSTOMER, CareBirthdayData, "A birthday greeting is due."),
    EventType("care.win_back", "care", SOURCE_CARE, _CUSTOMER, CareWinBackData,
              "A win-back contact to a customer at risk is due."),
    EventType("care.anniversary", "care", SOURCE_CARE, _CUSTOMER, CareAnniversaryData,
              "A customer anniversary greeting is due."),
    EventType("care.suppressed", "care", SOURCE_CARE, _CUSTOMER, CareSuppressedData,
              "A care occasion that will not be sent (cap, budget, profile changed); never retried."),
)  # fmt: skip


def event_type(name: str) -> EventType:
    for spec in EVENT_TYPES:
        if spec.type == name:
            return spec
    raise KeyError(name)
