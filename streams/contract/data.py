"""The `data` of every CloudEvent type the pipeline emits, as pydantic models (docs/topics.md,
docs/followups.md).

The builders in streams/domain/events.py, streams/domain/followups/events.py and
streams/stages/windows.py produce these dicts; the models describe them for docs/asyncapi.yaml
and tests/contract checks every emitted event against them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.domain.followups.care import SuppressReason
from streams.domain.followups.files import Occasion
from streams.domain.followups.surveys import CancelReason, FollowupKind
from streams.models import Channel, Classification, CustomerRef, RequestOrigin, RequestType, Urgency

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
    level: int = Field(
        description="warning: percent of the target; escalated: ladder level; paused/resumed: pause number"
    )
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
