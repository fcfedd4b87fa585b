"""The catalogue of CloudEvents types: for each, its topic, source, subject and data model
(streams/contract/data.py), as docs/asyncapi.yaml declares them (docs/topics.md)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from streams.contract.data import (
    CareAnniversaryData,
    CareBirthdayData,
    CareNewCustomerCallbackData,
    CareSuppressedData,
    CareWinBackData,
    FollowupCallbackDueData,
    FollowupCancelledData,
    FollowupEscalatedData,
    FollowupSecondFollowupDueData,
    FollowupSurveyDueData,
    SlaActivatedData,
    SlaBreachedData,
    SlaEscalatedData,
    SlaFulfilledData,
    SlaPausedData,
    SlaResumedData,
    SlaWarningData,
    SlaWindowClosedData,
    TicketRoutedData,
    TicketTransferredData,
)
from streams.domain.events import SOURCE_LIFECYCLE, SOURCE_ROUTER
from streams.domain.followups.events import SOURCE_CARE, SOURCE_FOLLOWUPS

SOURCE_SLA_WINDOWS = "/ticketflow/sla-windows"  # streams/stages/windows.py


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
    EventType(
        "ticket.routed",
        "dept.{department}",
        SOURCE_ROUTER,
        _TICKET,
        TicketRoutedData,
        "A new ticket, as its owner department or a department in copy receives it.",
    ),
    EventType(
        "ticket.transferred",
        "dept.{department}",
        SOURCE_ROUTER,
        _TICKET,
        TicketTransferredData,
        "A ticket transferred to this department (its text is in the ticket.routed copy).",
    ),
    EventType(
        "sla.activated",
        "sla.events",
        SOURCE_LIFECYCLE,
        _TICKET,
        SlaActivatedData,
        "An SLA clock started (or was recomputed by a policy repair).",
    ),
    EventType(
        "sla.paused",
        "sla.events",
        SOURCE_LIFECYCLE,
        _TICKET,
        SlaPausedData,
        "An SLA clock paused while the ticket waits on the customer.",
    ),
    EventType(
        "sla.resumed", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaResumedData, "A paused SLA clock running again."
    ),
    EventType(
        "sla.warning",
        "sla.events",
        SOURCE_LIFECYCLE,
        _TICKET,
        SlaWarningData,
        "A warning fraction of an SLA target reached.",
    ),
    EventType("sla.breached", "sla.events", SOURCE_LIFECYCLE, _TICKET, SlaBreachedData, "An SLA target missed."),
    EventType(
        "sla.escalated",
        "sla.events",
        SOURCE_LIFECYCLE,
        _TICKET,
        SlaEscalatedData,
        "A level of the escalation ladder after a breach, with the people to notify.",
    ),
    EventType(
        "sla.fulfilled",
        "sla.events",
        SOURCE_LIFECYCLE,
        _TICKET,
        SlaFulfilledData,
        "An SLA clock stopped by the action that fulfils it.",
    ),
    EventType(
        "sla.window.closed",
        "sla.windows",
        SOURCE_SLA_WINDOWS,
        _DEPARTMENT,
        SlaWindowClosedData,
        "One closed hour or day window of one department × channel × priority (revised if late facts change it).",
    ),
    EventType(
        "followup.survey_due",
        "followups",
        SOURCE_FOLLOWUPS,
        _TICKET,
        FollowupSurveyDueData,
        "A satisfaction survey is due.",
    ),
    EventType(
        "followup.callback_due", "followups", SOURCE_FOLLOWUPS, _TICKET, FollowupCallbackDueData, "A callback is due."
    ),
    EventType(
        "followup.second_followup_due",
        "followups",
        SOURCE_FOLLOWUPS,
        _TICKET,
        FollowupSecondFollowupDueData,
        "The second follow-up of a dissatisfied customer is due.",
    ),
    EventType(
        "followup.cancelled",
        "followups",
        SOURCE_FOLLOWUPS,
        _TICKET,
        FollowupCancelledData,
        "A scheduled follow-up no longer applies.",
    ),
    EventType(
        "followup.escalated",
        "followups",
        SOURCE_FOLLOWUPS,
        _TICKET,
        FollowupEscalatedData,
        "A dissatisfied answer, for the people to notify.",
    ),
    EventType(
        "care.new_customer_callback",
        "care",
        SOURCE_CARE,
        _CUSTOMER,
        CareNewCustomerCallbackData,
        "A welcome callback to a new customer is due.",
    ),
    EventType("care.birthday", "care", SOURCE_CARE, _CUSTOMER, CareBirthdayData, "A birthday greeting is due."),
    EventType(
        "care.win_back",
        "care",
        SOURCE_CARE,
        _CUSTOMER,
        CareWinBackData,
        "A win-back contact to a customer at risk is due.",
    ),
    EventType(
        "care.anniversary",
        "care",
        SOURCE_CARE,
        _CUSTOMER,
        CareAnniversaryData,
        "A customer anniversary greeting is due.",
    ),
    EventType(
        "care.suppressed",
        "care",
        SOURCE_CARE,
        _CUSTOMER,
        CareSuppressedData,
        "A care occasion that will not be sent (cap, budget, profile changed); never retried.",
    ),
)


def event_type(name: str) -> EventType:
    for spec in EVENT_TYPES:
        if spec.type == name:
            return spec
    raise KeyError(name)
