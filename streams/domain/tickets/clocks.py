"""A ticket's clocks under its policy, and how each action moves them (docs/tickets.md)."""

from __future__ import annotations

from streams.domain import sla
from streams.domain.policies import METRICS, Policy, PolicyFile
from streams.domain.tickets.outcome import Outcome, RoutedCopy
from streams.domain.tickets.replies import promote
from streams.domain.tickets.state import TicketState
from streams.models import TicketAction

# Actions in which a person tells the customer something.
HUMAN_RESPONSES = frozenset({"reply", "progress", "pending", "resolve"})


# Actions that count as a progress update.
PROGRESS = frozenset({"reply", "progress"})


class Clocks:
    """Starts, stops, pauses and resumes a ticket's clocks under its policy."""

    def __init__(self, ticket: TicketState, policies: PolicyFile, events: list[sla.SlaEvent], now: float) -> None:
        self.ticket = ticket
        self.policies = policies
        self.policy: Policy = policies.by_name(ticket.policy) or policies.select(ticket.match_fields())
        self.calendar = policies.calendar(self.policy)
        self.events = events
        self.now = now

    def start(self, metric: str, at: float, cycle: int | None = None) -> None:
        target = self.policies.target(self.policy, metric)
        if target is None:
            return
        previous = self.ticket.clocks.get(metric)
        if cycle is None:
            cycle = previous.cycle + 1 if previous else 1
        ladder = [
            (step.level, step.after_breach.resolve(self.calendar.day_seconds))
            for step in self.policies.ladder(self.policy, metric)
        ]
        clock, activated = sla.start_clock(
            metric,
            cycle=cycle,
            started_at=at,
            target=target,
            calendar=self.calendar,
            now=self.now,
            warn_at=self.policies.warn_points(self.policy),
            ladder=ladder,
        )
        self.ticket.clocks[metric] = clock
        self.events.append(activated)

    def running(self, metric: str) -> sla.Clock | None:
        """The metric's clock unless it has stopped (it may be paused)."""
        clock = self.ticket.clocks.get(metric)
        return clock if clock is not None and clock.stopped_at is None else None

    def stop(self, metric: str, at: float) -> None:
        if clock := self.running(metric):
            self.events.extend(sla.stop(clock, at=at, calendar=self.calendar, now=self.now))

    def pause(self, metric: str, at: float) -> None:
        if clock := self.running(metric):
            self.events.extend(sla.pause(clock, at=at, now=self.now))

    def resume(self, metric: str, at: float) -> None:
        if clock := self.running(metric):
            self.events.extend(sla.resume(clock, at=at, calendar=self.calendar, now=self.now))

    def fire_until(self, moment: float) -> None:
        for clock in self.ticket.clocks.values():
            self.events.extend(sla.fire_points(clock, upto=moment, now=self.now))


def apply_to_clocks(clocks: Clocks, action: TicketAction, outcome: Outcome) -> None:
    ticket = clocks.ticket
    at = min(action.at.timestamp(), clocks.now)  # an action cannot be in the future
    if action.type == "repair":
        repair(clocks, action, outcome)
        ticket.remember_action(action.action_id)
        return
    ticket.remember_action(action.action_id)
    ticket.last_action = action.action_id
    if ticket.status == "closed" and action.type != "reopen":
        if action.type == "customer_reply" and action.unmatched is not None:
            detail = (
                f"ticket {ticket.ticket_id} was closed; the customer's new message is a request of its own, "
                "linked to it"
            )
            if action.unmatched.in_conversation:
                detail += " (the conversation goes on in the new ticket)"
            promote(ticket, action, "ticket_closed", detail, outcome)
        return
    clocks.fire_until(at)  # points that passed before the action still count
    kind = action.type
    human = not action.automated

    if human and kind in HUMAN_RESPONSES:
        if ticket.first_response_at is None:
            ticket.first_response_at = at
        clocks.stop("first_response", at)
        clocks.stop("next_response", at)
    progress = clocks.running("progress_update")
    if human and kind in PROGRESS and ticket.status == "open" and progress is not None and progress.running:
        # A new progress period starts at each update; while waiting on the customer the period stays paused.
        clocks.stop("progress_update", at)
        clocks.start("progress_update", at)

    if kind == "pending":
        if not ticket.is_open:
            return  # waiting on the customer only means something for an open ticket
        clocks.pause("resolution", at)
        clocks.pause("progress_update", at)
        ticket.status = "pending"
    elif kind == "customer_reply":
        written_after = ticket.resolved_at is None or at >= ticket.resolved_at  # not one that crossed the answer
        if ticket.status == "resolved" and written_after and clocks.policies.reopen_on_customer_reply:
            reopen(clocks, at)  # the customer writes again: the matter is not settled
        clocks.resume("resolution", at)
        clocks.resume("progress_update", at)
        if ticket.status == "pending":
            ticket.status = "open"
        if ticket.first_response_at is not None and ticket.is_open and not clocks.running("next_response"):
            clocks.start("next_response", at)
    elif kind == "resolve":
        for metric in METRICS:
            clocks.stop(metric, at)
        ticket.resolved_at = at
        if ticket.first_resolved_at is None:
            ticket.first_resolved_at = at
        ticket.status = "resolved"
    elif kind == "reopen":
        if ticket.status in ("resolved", "closed"):
            reopen(clocks, at)
    elif kind == "close":
        for metric in METRICS:
            clocks.stop(metric, at)
        ticket.closed_at = at
        ticket.status = "closed"
    elif kind == "transfer" and action.department and action.department != ticket.handling_department:
        ticket.handling_department = action.department
        ticket.transfer_count += 1
        outcome.routed.append(RoutedCopy(action.department, "transfer", ticket.transfer_count))


def reopen(clocks: Clocks, at: float) -> None:
    """A new resolution cycle (the first resolution time is kept)."""
    ticket = clocks.ticket
    ticket.reopen_count += 1
    ticket.status = "open"
    ticket.closed_at = None
    clocks.start("resolution", at)
    clocks.start("progress_update", at)


def repair(clocks: Clocks, action: TicketAction, outcome: Outcome) -> None:
    """Replace the clocks with ones recomputed under a new policy (`ticketflow sla replay --apply`).

    A point that already fired in the same cycle never fires again; a point the new policy
    puts in the past fires at once (late); completed clocks are history and emit nothing. A
    repair computed before the ticket's latest action is refused: the replay must be run
    again."""
    ticket, repair = clocks.ticket, action.repair
    if repair is None:
        outcome.rejection = "a repair action carries no clocks"
        return
    if repair.based_on_action != ticket.last_action:
        outcome.rejection = (
            f"stale repair: computed after action {repair.based_on_action!r}, but the ticket's latest action is "
            f"{ticket.last_action!r}; run the replay again"
        )
        return
    if repair.sequence <= ticket.repairs:
        return  # this or a later repair was applied already
    repaired = {metric: sla.Clock.model_validate(clock) for metric, clock in repair.clocks.items()}
    for metric, clock in repaired.items():
        if clock.stopped_at is not None:
            continue  # history: a completed metric is reported by the replay, not re-emitted
        # What fired is what this ticket really emitted, not what the replay would have.
        current = ticket.clocks.get(metric)
        clock.fired = list(current.fired) if current is not None and current.cycle == clock.cycle else []
        outcome.sla_events.append(
            sla.SlaEvent(
                "activated",
                metric,
                clock.cycle,
                repair.sequence,
                clock.due_at,
                clock.started_at,
                clocks.now,
                repair=repair.sequence,
            )
        )
    ticket.clocks = repaired
    ticket.policy = repair.policy
    ticket.repairs = repair.sequence
    clocks.fire_until(clocks.now)
