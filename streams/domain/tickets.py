"""A ticket's life: opening (route + policy + clocks), actions that move its clocks, and
points that fall due. Pure: the current state and an input in, the new state and what to
emit out. The lifecycle agent and the SLA timer are thin loops around these functions.

Clock rules (DESIGN §3):
- first_response and resolution start at the customer's submit time; progress_update too
  (the first update is owed one period after submission);
- a human reply, progress update, request for information (`pending`) or resolution stops
  first_response and the running next_response; automated messages do not count;
- a customer message after an agent's reply starts a new next_response cycle;
- each progress update or reply starts a new progress_update cycle;
- `pending` pauses resolution and progress_update, `customer_reply` resumes them (and, unless
  the policy file says `reopen_on_customer_reply: false`, reopens a resolved ticket);
- `resolve` stops every running clock; `reopen` starts new resolution and progress_update
  cycles (first-resolution time is kept); `close` stops everything;
- `transfer` changes the handling department only (first-contact ownership).

Unmatched e-mail replies (nothing a customer writes is lost):
- an action that arrives before its ticket's request is held until the request does; a
  customer's e-mail reply carries the request it becomes otherwise (`TicketAction.unmatched`).
  Held replies wait `Retention.unmatched_replies` (minutes, counted from when the mail was
  received): the ticket's request usually overtakes its reply by milliseconds, so a reply
  still waiting then answers a mail that never became a ticket here (a mailing, a mail from
  a CRM, a thread from before Ticketflow) or a ticket that has left the table. The SLA timer
  then promotes it (`fire_due`): it becomes a request of its own, whose ticket records its
  origin and the thread it belongs to. Other held actions keep the longer
  `Retention.orphan_actions`.
- a customer's e-mail reply to a closed ticket is promoted at once (a new request linked to
  the closed one) instead of being ignored like other actions on a closed ticket.
- at most `HELD_REPLIES_KEPT` replies wait per unknown thread; beyond that (a mailing answered
  by many customers) the oldest is promoted at once rather than dropped.
- a promoted reply's id stays among the thread's recent action ids, so a redelivered copy is
  a duplicate; its request and ticket ids derive from the reply's own Message-ID, so a repeated
  promotion (a crash before the thread's state was saved) collapses as a repeated request.
- the promoted tickets are remembered on the thread's state (`promoted_replies`): if the
  thread's own request does arrive after all, its ticket lists them; a later reply whose
  References name a promoted reply (the customer answering the agent's answer to it) is passed
  on (`Outcome.forwarded`) to that reply's ticket, where it applies like any customer reply.
  A thread's state with promoted replies is kept for the ticket retention, since such
  conversations go on for days.

Web chat follow-ups (the same machinery, for a live conversation):
- a follow-up (`seq` > 1) is a customer_reply on the conversation's ticket and carries the
  request it would be had it opened the conversation (its `unmatched` ids are the
  conversation's own). If the opening message never became a ticket, the follow-ups wait
  `Retention.unmatched_chat_replies` (short: a chat is live), then the earliest of them is
  promoted: its request opens the conversation's ticket itself (the state it is held on), and
  the other follow-ups stay held as early actions, so they apply to that ticket in order when
  it opens. While its own request is on the way the state promotes nothing more
  (`awaits_own_request`); the promoted follow-up's id stays among the recent action ids (a
  redelivery is a duplicate) and a repeated promotion has the same ids (it collapses).
- a follow-up on a closed chat ticket becomes a request of its own at once (ids from the
  message's own key, linked to the closed ticket); later messages of the conversation are
  passed on to the most recent such ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict

from streams import ids
from streams.domain import sla
from streams.domain.policies import METRICS, Policy, PolicyFile
from streams.domain.routing import RoutingConfig, RoutingDecision, route
from streams.models import ClassifiedRequest, RequestOrigin, TicketAction

# Remembered per ticket to drop a redelivered action; older ids fall off.
RECENT_ACTIONS_KEPT = 32
# Actions that arrive before their request are held until it does, up to this many.
EARLY_ACTIONS_KEPT = 50
# Clocks of two systems disagree a little: an action may be dated this much before its request.
ACTION_CLOCK_SKEW_SECONDS = 300.0
# Of those, customer e-mail replies that would open a request of their own: beyond this many
# (a mailing answered by many customers), the oldest is promoted at once instead of waiting.
HELD_REPLIES_KEPT = 10
# Tickets that replies of one thread were promoted to, remembered on the thread's state.
PROMOTED_REPLIES_KEPT = 20

# Actions in which a person tells the customer something.
_HUMAN_RESPONSES = frozenset({"reply", "progress", "pending", "resolve"})
# Actions that count as a progress update.
_PROGRESS = frozenset({"reply", "progress"})

TicketStatus = Literal["awaiting_request", "open", "pending", "resolved", "closed"]


@dataclass(frozen=True)
class Retention:
    """How long the tickets table keeps what, in seconds."""

    tickets: float = 30 * 86400  # resolved and closed tickets, after resolution or closing
    orphan_actions: float = 86400  # actions whose request never arrives
    unmatched_replies: float = 15 * 60  # e-mail replies waiting for their ticket before they become requests
    unmatched_chat_replies: float = 2 * 60  # web chat follow-ups waiting for their conversation's ticket

    @property
    def reply_holds(self) -> dict[str, float]:
        """How long a held reply waits for its ticket, by channel."""
        return {"email": self.unmatched_replies, "webchat": self.unmatched_chat_replies}


# A hold for every channel, or per channel (a channel not named waits the longest hold named).
ReplyHold = float | Mapping[str, float]


def hold_for(hold: ReplyHold, channel: str) -> float:
    if isinstance(hold, Mapping):
        return hold.get(channel, max(hold.values()))
    return hold


class TicketState(BaseModel):
    """Value of the tickets table (keyed by ticket id)."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: str
    status: TicketStatus
    request_id: str | None = None
    customer_id: str | None = None
    channel: str | None = None
    type: str | None = None
    urgency: str | None = None
    complaint_grade: int | None = None
    segment: str | None = None
    department: str | None = None  # owner: fixed from routing until the ticket is closed
    handling_department: str | None = None  # who works on it now (changes on transfer)
    cc: tuple[str, ...] = ()
    policy: str | None = None
    submitted_at: float | None = None
    first_response_at: float | None = None
    first_resolved_at: float | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    reopen_count: int = 0
    transfer_count: int = 0
    last_action: str | None = None  # id of the last applied action (repairs excluded)
    updated_at: float | None = None  # processing time of the last change (retention counts from it too)
    repairs: int = 0
    clocks: dict[str, sla.Clock] = {}
    early_actions: list[TicketAction] = []
    recent_action_ids: list[str] = []
    origin: RequestOrigin | None = None  # the request was a reply (e-mail, web chat) whose ticket was not found
    promoted_replies: list[str] = []  # tickets opened from replies in this ticket's thread (or this one, below)

    @property
    def awaits_own_request(self) -> bool:
        """A held web chat follow-up was promoted to this very ticket's request, on its way."""
        return self.status == "awaiting_request" and self.ticket_id in self.promoted_replies

    def held_replies(self) -> list[TicketAction]:
        """Held customer replies that become requests of their own if no ticket turns up (not
        the follow-ups that wait for the request one of them already became)."""
        if self.status != "awaiting_request":
            return []
        opening = self.awaits_own_request
        return [action for action in self.early_actions if action.unmatched is not None
                and not (opening and action.unmatched.ticket_id == self.ticket_id)]  # fmt: skip

    def promotion_due(self, hold: ReplyHold) -> float | None:
        """When the first held reply has waited its channel's `hold` seconds since it was received."""
        moments = [_held_until(action, hold) for action in self.held_replies()]
        return min(moments) if moments else None

    @property
    def is_open(self) -> bool:
        return self.status in ("open", "pending")

    def next_due(self) -> float | None:
        moments = [moment for clock in self.clocks.values() if (moment := clock.next_point()) is not None]
        return min(moments) if moments else None

    def expires_at(self, retention: Retention) -> float | None:
        """When the ticket may leave the table: `retention.tickets` after it was resolved or
        closed, and after it was last changed here (so an imported historical ticket stays
        long enough for a re-import to be recognised); an action whose request never came,
        `retention.orphan_actions` after it arrived or after the last change; a thread whose
        replies became tickets, `retention.tickets` after the last change (follow-ups in their
        conversations are passed on meanwhile). Open tickets never expire, nor does a thread
        while a held reply waits to be promoted."""
        seen = self.updated_at or 0.0
        if self.status == "closed" and self.closed_at is not None:
            return max(self.closed_at, seen) + retention.tickets
        if self.status == "resolved" and self.resolved_at is not None:
            return max(self.resolved_at, seen) + retention.tickets
        if self.status == "awaiting_request":
            if self.held_replies():
                return None  # each becomes a request first (promotion_due)
            arrived = min((action.at.timestamp() for action in self.early_actions), default=seen)
            expiry = max(arrived, seen) + retention.orphan_actions
            if self.promoted_replies:  # follow-ups in their conversations are passed on meanwhile
                expiry = max(expiry, seen + retention.tickets)
            return expiry
        return None

    def wake_at(self, retention: Retention) -> float | None:
        """The next moment the SLA timer must look at this ticket: a due point, a held reply's
        promotion or its expiry."""
        moments = [m for m in (self.next_due(), self.promotion_due(retention.reply_holds),
                               self.expires_at(retention)) if m is not None]  # fmt: skip
        return min(moments) if moments else None

    def facts(self) -> dict:
        return {"channel": self.channel, "type": self.type, "urgency": self.urgency,
                "complaint_grade": self.complaint_grade, "tier": self.segment, "department": self.department}  # fmt: skip


@dataclass(frozen=True)
class RoutedCopy:
    """A copy of the ticket for a department queue."""

    department: str
    role: Literal["owner", "cc", "transfer"]
    sequence: int = 0


@dataclass(frozen=True)
class Promotion:
    """A customer's reply (e-mail, web chat) that becomes a request of its own (its ticket was
    not found, or is closed)."""

    action: TicketAction  # the customer_reply, with its `unmatched` request
    reason: Literal["no_ticket", "ticket_closed"]
    detail: str

    @property
    def channel(self) -> str:
        assert self.action.unmatched is not None
        return self.action.unmatched.channel

    @property
    def ticket_id(self) -> str:
        """The ticket the promoted request opens (for a web chat follow-up whose conversation has
        no ticket: the conversation's own, the one the follow-up was held on)."""
        assert self.action.unmatched is not None
        return ids.ticket_id(self.channel, self.action.unmatched.promoted_key(self.reason))

    def origin(self) -> RequestOrigin:
        assert self.action.unmatched is not None
        return RequestOrigin(reason=self.reason, detail=self.detail, thread_ticket=self.action.ticket_id,
                             thread_message_id=self.action.unmatched.thread_message_id,
                             reply_action_id=self.action.action_id)  # fmt: skip


@dataclass
class Outcome:
    """What a step changed. `state` is None when nothing changed (a duplicate)."""

    state: TicketState | None
    routed: list[RoutedCopy] = field(default_factory=list)
    sla_events: list[sla.SlaEvent] = field(default_factory=list)
    promotions: list[Promotion] = field(default_factory=list)
    routing: RoutingDecision | None = None
    forwarded: list[TicketAction] = field(default_factory=list)  # for tickets.actions: replies passed on
    duplicate: bool = False
    opened: bool = False
    rejection: str | None = None  # why an action was refused (a stale repair, a moment before the request)
    rejection_code: str = "stale_repair"


def ticket_facts(classified: ClassifiedRequest) -> dict:
    request, classification = classified.request, classified.classification
    return {
        "channel": request.channel,
        "type": classification.type,
        "urgency": classification.urgency,
        "complaint_grade": classification.complaint_grade,
        "tier": classification.segment,
        "aspects": classification.aspects,
    }


class _Clocks:
    """Starts, stops, pauses and resumes a ticket's clocks under its policy."""

    def __init__(self, ticket: TicketState, policies: PolicyFile, events: list[sla.SlaEvent], now: float) -> None:
        self.ticket = ticket
        self.policies = policies
        self.policy: Policy = policies.by_name(ticket.policy) or policies.select(ticket.facts())
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
        ladder = [(step.level, step.after_breach.resolve(self.calendar.day_seconds))
                  for step in self.policies.ladder(self.policy, metric)]  # fmt: skip
        clock, activated = sla.start_clock(
            metric, cycle=cycle, started_at=at, target=target, calendar=self.calendar, now=self.now,
            warn_at=self.policies.warn_points(self.policy), ladder=ladder,
        )  # fmt: skip
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


def open_ticket(
    state: TicketState | None,
    classified: ClassifiedRequest,
    *,
    routing: RoutingConfig,
    policies: PolicyFile,
    now: float,
) -> Outcome:
    """A classified request arrives: route it, pick its policy, start its clocks."""
    request, classification = classified.request, classified.classification
    if state is not None and state.request_id is not None:
        late = _late_opening_message(state, classified, now)
        if late is None:
            return Outcome(state=None, duplicate=True)
        state.updated_at = now
        return Outcome(state=state, forwarded=[late])
    facts = ticket_facts(classified)
    decision = route(routing, facts, classification.confidence)
    facts["department"] = decision.department
    policy = policies.select(facts)
    submitted_at = request.submitted_at.timestamp()
    ticket = TicketState(
        ticket_id=request.ticket_id,
        status="open",
        request_id=request.request_id,
        customer_id=request.customer_id,
        channel=request.channel,
        type=classification.type,
        urgency=classification.urgency,
        complaint_grade=classification.complaint_grade,
        segment=classification.segment,
        department=decision.department,
        handling_department=decision.department,
        cc=decision.cc,
        policy=policy.name,
        submitted_at=submitted_at,
        recent_action_ids=state.recent_action_ids if state else [],
        origin=request.origin,
        promoted_replies=[ticket for ticket in state.promoted_replies if ticket != request.ticket_id] if state else [],
        updated_at=now,
    )
    outcome = Outcome(state=ticket, routing=decision, opened=True)
    outcome.routed.append(RoutedCopy(decision.department, "owner"))
    outcome.routed.extend(RoutedCopy(copied, "cc") for copied in decision.cc)
    clocks = _Clocks(ticket, policies, outcome.sla_events, now)
    for metric in ("first_response", "progress_update", "resolution"):
        clocks.start(metric, submitted_at, cycle=1)
    # Actions that overtook the request are applied in the order they happened.
    for action in sorted(state.early_actions if state else (), key=lambda item: item.at):
        _apply(clocks, action, outcome)
    clocks.fire_until(now)
    return outcome


def _late_opening_message(state: TicketState, classified: ClassifiedRequest, now: float) -> TicketAction | None:
    """A conversation's own opening message that arrives after a later message of it opened the
    ticket (web chat: a follow-up promoted after its hold, while the opening message was still
    on its way through a lagging stage). It has the ticket's request id, but it is not a repeat:
    its words are passed on to the ticket as the customer's message (on tickets.actions, where
    desks read customer replies), once; None for a true repeat."""
    request = classified.request
    if state.origin is None or request.origin is not None or request.request_id != state.request_id:
        return None
    action_id = ids.action_id(state.ticket_id, f"late-opening:{request.request_id}")
    if action_id in state.recent_action_ids:
        return None
    sent = request.submitted_at.isoformat(timespec="seconds")
    note = f"[the conversation's opening message, sent {sent}, arrived after the ticket was opened] {request.text}"
    return TicketAction(action_id=action_id, ticket_id=state.ticket_id, type="customer_reply", by="customer",
                        at=datetime.fromtimestamp(now, timezone.utc), channel=request.channel,
                        note=note[:2_000])  # fmt: skip


def apply_action(state: TicketState | None, action: TicketAction, *, policies: PolicyFile, now: float) -> Outcome:
    """An agent or customer action: stop, pause, resume or restart the clocks."""
    if state is None:
        state = TicketState(ticket_id=action.ticket_id, status="awaiting_request")
    if action.action_id in state.recent_action_ids or any(
        held.action_id == action.action_id for held in state.early_actions
    ):
        return Outcome(state=None, duplicate=True)
    state.updated_at = now
    outcome = Outcome(state=state)
    if (continued := _continued_ticket(state, action)) is not None:
        _forward(state, action, continued, outcome)
        return outcome
    if state.status == "awaiting_request":
        state.early_actions = [*state.early_actions, action]
        _bound_held(state, outcome)
        return outcome
    if (early := _before_submission(state, action)) is not None:
        return Outcome(state=None, rejection=early, rejection_code="invalid_action")
    _apply(_Clocks(state, policies, outcome.sla_events, now), action, outcome)
    return outcome


def _before_submission(state: TicketState, action: TicketAction) -> str | None:
    """Why an action dated before its ticket's request was submitted (beyond clock skew) cannot
    move the clocks, or None. A repair carries the replay's own moment and is not checked."""
    if action.type == "repair" or state.submitted_at is None:
        return None
    if action.at.timestamp() >= state.submitted_at - ACTION_CLOCK_SKEW_SECONDS:
        return None
    submitted = datetime.fromtimestamp(state.submitted_at, timezone.utc).isoformat(timespec="seconds")
    return (f"at: {action.at.isoformat(timespec='seconds')} is before ticket {state.ticket_id} was submitted "
            f"({submitted}); an action cannot precede its request by more than {ACTION_CLOCK_SKEW_SECONDS:.0f}s")


def _continued_ticket(state: TicketState, action: TicketAction) -> str | None:
    """The ticket a customer's reply continues: an e-mail reply answering, within this thread,
    a reply that became a ticket of its own (the most recent such mail it references); a web
    chat message on a closed ticket whose conversation went on in a ticket of its own (the most
    recent one)."""
    if action.type != "customer_reply" or action.unmatched is None:
        return None
    promoted = [ticket for ticket in state.promoted_replies if ticket != state.ticket_id]
    if not promoted:
        return None
    if action.unmatched.in_conversation:
        return promoted[-1] if state.status == "closed" else None
    return next((ticket for ticket in action.unmatched.referenced_tickets() if ticket in promoted), None)


def _forward(state: TicketState, action: TicketAction, ticket_id: str, outcome: Outcome) -> None:
    """Pass the reply on to the ticket it continues, as the action it would have been there."""
    assert action.unmatched is not None
    passed_on = {"ticket_id": ticket_id, "action_id": action.unmatched.action_id_on(ticket_id)}
    outcome.forwarded.append(action.model_copy(update=passed_on))
    state.recent_action_ids = [*state.recent_action_ids, action.action_id][-RECENT_ACTIONS_KEPT:]
    if state.request_id is not None:
        state.last_action = action.action_id  # as for any action on a ticket (sla replay counts it too)


def _bound_held(state: TicketState, outcome: Outcome) -> None:
    """Keep at most HELD_REPLIES_KEPT promotable replies and EARLY_ACTIONS_KEPT actions in all:
    the oldest reply over the limit becomes a request at once; other actions over it are dropped."""
    while True:
        held = state.held_replies()
        if len(held) > HELD_REPLIES_KEPT:
            victim = min(held, key=_received) if _opens_own_ticket(state, held[0]) else held[0]
        elif len(state.early_actions) > EARLY_ACTIONS_KEPT:
            victim = state.early_actions[0]
        else:
            return
        state.early_actions = [action for action in state.early_actions if action is not victim]
        if victim.unmatched is not None:
            if _opens_own_ticket(state, victim):
                detail = (f"more than {HELD_REPLIES_KEPT} messages of the conversation were waiting for its ticket "
                          f"{state.ticket_id}: the earliest opens it")  # fmt: skip
            else:
                detail = (f"more than {HELD_REPLIES_KEPT} replies were waiting for ticket {state.ticket_id}, which "
                          "does not exist here (a mail sent to many customers?)")  # fmt: skip
            _promote(state, victim, "no_ticket", detail, outcome)


def _received(action: TicketAction) -> tuple[float, float]:
    """Order of a conversation's messages: when sent, then when received."""
    assert action.unmatched is not None
    return action.at.timestamp(), action.unmatched.received_at.timestamp()


def _opens_own_ticket(state: TicketState, action: TicketAction) -> bool:
    """A web chat follow-up whose request would be the conversation's own, the ticket it waits on."""
    return action.unmatched is not None and action.unmatched.ticket_id == state.ticket_id


def _promote(state: TicketState, action: TicketAction, reason: Literal["no_ticket", "ticket_closed"], detail: str,
             outcome: Outcome) -> None:  # fmt: skip
    """The reply becomes a request of its own; the thread's state remembers it was handled (a
    web chat follow-up that opens its own conversation's ticket: that the request is on its way)."""
    promotion = Promotion(action, reason, detail)
    outcome.promotions.append(promotion)
    if action.action_id not in state.recent_action_ids:
        state.recent_action_ids = [*state.recent_action_ids, action.action_id][-RECENT_ACTIONS_KEPT:]
    if promotion.ticket_id not in state.promoted_replies:
        state.promoted_replies = [*state.promoted_replies, promotion.ticket_id][-PROMOTED_REPLIES_KEPT:]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _apply(clocks: _Clocks, action: TicketAction, outcome: Outcome) -> None:
    ticket = clocks.ticket
    at = min(action.at.timestamp(), clocks.now)  # an action cannot be in the future
    if action.type == "repair":
        _repair(clocks, action, outcome)
        ticket.recent_action_ids = [*ticket.recent_action_ids, action.action_id][-RECENT_ACTIONS_KEPT:]
        return
    ticket.recent_action_ids = [*ticket.recent_action_ids, action.action_id][-RECENT_ACTIONS_KEPT:]
    ticket.last_action = action.action_id
    if ticket.status == "closed" and action.type != "reopen":
        if action.type == "customer_reply" and action.unmatched is not None:
            detail = (f"ticket {ticket.ticket_id} was closed; the customer's new message is a request of its own, "
                      "linked to it")  # fmt: skip
            if action.unmatched.in_conversation:
                detail += " (the conversation goes on in the new ticket)"
            _promote(ticket, action, "ticket_closed", detail, outcome)
        return
    clocks.fire_until(at)  # points that passed before the action still count
    kind = action.type
    human = not action.automated

    if human and kind in _HUMAN_RESPONSES:
        if ticket.first_response_at is None:
            ticket.first_response_at = at
        clocks.stop("first_response", at)
        clocks.stop("next_response", at)
    progress = clocks.running("progress_update")
    if human and kind in _PROGRESS and ticket.status == "open" and progress is not None and progress.running:
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
            _reopen(clocks, at)  # the customer writes again: the matter is not settled
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
            _reopen(clocks, at)
    elif kind == "close":
        for metric in METRICS:
            clocks.stop(metric, at)
        ticket.closed_at = at
        ticket.status = "closed"
    elif kind == "transfer" and action.department and action.department != ticket.handling_department:
        ticket.handling_department = action.department
        ticket.transfer_count += 1
        outcome.routed.append(RoutedCopy(action.department, "transfer", ticket.transfer_count))


def _reopen(clocks: _Clocks, at: float) -> None:
    """A new resolution cycle (the first resolution time is kept)."""
    ticket = clocks.ticket
    ticket.reopen_count += 1
    ticket.status = "open"
    ticket.closed_at = None
    clocks.start("resolution", at)
    clocks.start("progress_update", at)


def _repair(clocks: _Clocks, action: TicketAction, outcome: Outcome) -> None:
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
        outcome.sla_events.append(sla.SlaEvent("activated", metric, clock.cycle, repair.sequence, clock.due_at,
                                               clock.started_at, clocks.now, repair=repair.sequence))  # fmt: skip
    ticket.clocks = repaired
    ticket.policy = repair.policy
    ticket.repairs = repair.sequence
    clocks.fire_until(clocks.now)


def fire_due(
    state: TicketState, *, now: float, upto: float | None = None, reply_hold: ReplyHold | None = None
) -> Outcome:
    """The SLA timer's step: every warning, breach or escalation point due by `upto` (default
    `now`; earlier while the actions that could still stop the clock are being caught up on),
    and — given `reply_hold` (seconds, for every channel or by channel) — every held reply that
    has waited that long for its ticket, promoted to a request of its own. Of a web chat
    conversation's follow-ups only the earliest is promoted (it opens the conversation's
    ticket); the others wait for that ticket and apply to it in order."""
    upto = now if upto is None else upto
    outcome = Outcome(state=state)
    for clock in state.clocks.values():
        outcome.sla_events.extend(sla.fire_points(clock, upto=upto, now=now))
    if reply_hold is not None:
        held = state.held_replies()
        waited = [action for action in held if _held_until(action, reply_hold) <= upto]
        opening = [action for action in held if _opens_own_ticket(state, action)]
        if any(_opens_own_ticket(state, action) for action in waited):
            first = min(opening, key=_received)  # the earliest follow-up opens the conversation
            waited = [action for action in waited if not _opens_own_ticket(state, action)] + [first]
        if waited:
            promoted = {action.action_id for action in waited}
            state.early_actions = [action for action in state.early_actions if action.action_id not in promoted]
            for action in waited:
                _promote(state, action, "no_ticket", _no_ticket_detail(state, action, reply_hold), outcome)
            state.updated_at = now
    if not outcome.sla_events and not outcome.promotions:
        outcome.state = None
    return outcome


def _held_until(action: TicketAction, reply_hold: ReplyHold) -> float:
    assert action.unmatched is not None
    return action.unmatched.received_at.timestamp() + hold_for(reply_hold, action.unmatched.channel)


def _no_ticket_detail(state: TicketState, action: TicketAction, reply_hold: ReplyHold) -> str:
    assert action.unmatched is not None
    waited = _minutes(hold_for(reply_hold, action.unmatched.channel))
    if _opens_own_ticket(state, action):
        return (f"the conversation's opening message did not become ticket {state.ticket_id} within {waited} of "
                "this message (refused, sent before Ticketflow was connected, or never delivered): this message "
                "opens it, and the conversation's later messages apply to it")  # fmt: skip
    return (f"no ticket {state.ticket_id} turned up within {waited} of the reply: the mail "
            "it answers never became a ticket here, or its ticket was closed and has left the table")  # fmt: skip
