"""The values the follow-up and care stages keep and pass between them (docs/followups.md).

- `FollowupRecord`: the followups table, keyed by ticket id (co-partitioned with the tickets).
- `CareRecord`: the customer-care table, keyed by customer id: the CRM profile, the contact
  log (the one budget) and the care messages held by quiet hours or the contact gap.
- `ContactRequest`: a follow-up due, on the internal contact-requests topic keyed by customer
  id, with what the ticket looked like when it was checked; `ContactReturn`: a follow-up the
  customer's budget holds, back to the ticket's partition (contact-returns, keyed by ticket id).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from streams.domain.followups import CareDue, ContactLog, ScheduledFollowup, TicketFacts, TicketFeedback
from streams.models import CustomerProfile


class FollowupRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planned_cycles: list[int] = []  # resolution cycles whose survey was planned or skipped
    pending: list[ScheduledFollowup] = []  # surveys and callbacks waiting here
    feedback: TicketFeedback = Field(default_factory=TicketFeedback)  # answers, and the pending second follow-up
    updated_at: float | None = None  # retention counts from here once nothing waits

    def waiting(self) -> list[ScheduledFollowup]:
        second = self.feedback.second_followup
        return [*self.pending, *([second] if second is not None else [])]

    def wake_at(self, retention_seconds: float | None = None) -> float | None:
        """The next follow-up's moment; with nothing waiting, the end of the record's retention."""
        waiting = [followup.fire_at for followup in self.waiting()]
        if waiting or retention_seconds is None or self.updated_at is None:
            return min(waiting, default=None)
        return self.updated_at + retention_seconds


class FactsSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: str
    cycle: int
    rated_cycles: list[int] = []
    latest_dissatisfied: bool | None = None

    @classmethod
    def of(cls, facts: TicketFacts) -> FactsSnapshot:
        return cls(
            status=facts.status,
            cycle=facts.cycle,
            rated_cycles=sorted(facts.rated_cycles),
            latest_dissatisfied=facts.latest_dissatisfied,
        )

    def facts(self) -> TicketFacts:
        return TicketFacts(self.status, self.cycle, frozenset(self.rated_cycles), self.latest_dissatisfied)


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    followup: ScheduledFollowup
    facts: FactsSnapshot
    department: str | None = None  # for the metrics' labels
    type: str | None = None


class ContactReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    followup: ScheduledFollowup


def contact_key(followup: ScheduledFollowup) -> str:
    """The key a follow-up leaves in the contact log: one per occasion (a second follow-up per answer)."""
    if followup.feedback_key is not None:
        return f"{followup.key}:{followup.feedback_key}"
    return followup.key


class HeldCare(BaseModel):
    """A care message waiting for quiet hours or the contact gap to end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    occasion: str
    key: str
    day: date
    send_day: date
    due_at: float
    via: str
    channel: str
    tier: str
    fire_at: float

    @classmethod
    def of(cls, due: CareDue, fire_at: float) -> HeldCare:
        return cls(
            occasion=due.occasion,
            key=due.key,
            day=due.day,
            send_day=due.send_day,
            due_at=due.due_at,
            via=due.via,
            channel=due.channel,
            tier=due.tier,
            fire_at=fire_at,
        )

    def due(self, customer_id: str) -> CareDue:
        return CareDue(
            customer_id=customer_id,
            occasion=self.occasion,  # type: ignore[arg-type]
            key=self.key,
            day=self.day,
            send_day=self.send_day,
            due_at=self.due_at,
            via=self.via,
            channel=self.channel,
            tier=self.tier,
        )


class CareRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: CustomerProfile | None = None
    contacts: ContactLog = Field(default_factory=ContactLog)
    held: list[HeldCare] = []

    def wake_at(self) -> float | None:
        return min((held.fire_at for held in self.held), default=None)
