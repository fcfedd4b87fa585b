"""followups + care stages: a survey's path from resolution to the customer's partition and back."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from streams import ids
from streams.domain import followups as fu
from streams.domain.policies import PolicyFile
from streams.domain.tickets import TicketState
from streams.models import Feedback
from streams.stages.care import CareStage
from streams.stages.followup_records import CareRecord, FollowupRecord
from streams.stages.followups import FollowupStage
from streams.state.deadlines import DeadlineIndex
from streams.testing import MemoryRecordStore, MemoryTicketStore
from tests.stages.helpers import CATALOG, NOW

T0 = NOW.timestamp()
REQUESTS, RETURNS = "t.contact-requests", "t.contact-returns"


class Hop:
    """A ticket side and a customer side on one partition, with a shared clock."""

    def __init__(self, judge=None):
        self.now = T0
        self.tickets = MemoryTicketStore()
        index = DeadlineIndex()
        index.assign([0])
        clock = lambda: self.now  # noqa: E731
        self.followups = FollowupStage(
            CATALOG,
            file=fu.load_followup_file(fu.files.bundled_file("followups-demo.yaml")),
            policies=PolicyFile.model_validate({"policies": [{"name": "p", "targets": {"resolution": "60s"}}]}),
            tickets=self.tickets,
            store=MemoryRecordStore(FollowupRecord),
            index=index,
            requests_topic=REQUESTS,
            judge=judge,
            clock=clock,
        )
        self.care = CareStage(
            CATALOG,
            followup_file=self.followups.file,
            care_file=fu.load_care_file(fu.files.bundled_file("care-demo.yaml")),
            store=MemoryRecordStore(CareRecord),
            returns_topic=RETURNS,
            key_partition=lambda _: 0,
            clock=clock,
        )
        self.care.rebuild({0}, T0)

    def ticket(self, ticket_id="TKT-1", status="resolved", customer="C-1", reopen_count=0, resolved_at=T0, **fields):
        state = TicketState(
            ticket_id=ticket_id,
            status=status,
            customer_id=customer,
            channel="app",
            type="complaint",
            department="after_sales",
            resolved_at=resolved_at,
            first_response_at=T0 - 60,
            reopen_count=reopen_count,
            **fields,
        )
        self.tickets.put(0, state)
        return self.followups.on_tickets([(0, ticket_id)])

    def tick(self, at):
        """Advance the clock; run the ticket timer, then deliver every hop until nothing is left."""
        self.now = at
        events = []
        pending = self.followups.fire_due(0, at) + self.care.run_days(at)
        while pending:
            output = pending.pop(0)
            if output.topic == REQUESTS:
                pending.extend(self.care.on_request(output.value, 0))
            elif output.topic == RETURNS:
                pending.extend(self.followups.on_return(output.value, 0))
            else:
                events.append(output)
        return events

    def feedback(self, csat=None, comment=None, ticket_id="TKT-1", key="a1"):
        record = Feedback(
            ticket_id=ticket_id,
            csat=csat,
            comment=comment,
            idempotency_key=key,
            feedback_id=f"FB-{key}",
            received_at=datetime.fromtimestamp(self.now, UTC),
        )
        return self.followups.on_feedback(record.model_dump_json().encode(), 0)


def types(outputs):
    return [orjson.loads(o.value)["type"] for o in outputs if o.topic in ("t.followups", "t.care")]


@pytest.fixture
def hop():
    return Hop()


def test_a_resolved_ticket_gets_exactly_one_survey_at_its_moment(hop):
    hop.ticket(status="resolved")
    hop.ticket(status="resolved")  # a later step on the same cycle plans nothing more
    assert hop.tick(T0 + 2.9) == []  # complaint callback: 3 s after resolution
    (due,) = hop.tick(T0 + 3.0)
    event = orjson.loads(due.value)
    assert event["type"] == "followup.callback_due" and due.key == b"TKT-1"
    assert event["data"]["channel"] == "phone" and event["data"]["late"] is False
    assert event["id"] == ids.event_id("TKT-1", "followup", "callback", 0, "", "due")
    assert hop.tick(T0 + 10) == []


def test_the_survey_speaks_the_requests_language_and_a_repeat_ticket_is_not_surveyed(hop):
    hop.ticket(language="en")
    (due,) = hop.tick(T0 + 3.0)
    assert orjson.loads(due.value)["data"]["language"] == "en"
    hop.ticket(ticket_id="TKT-2", repeat_of="TKT-1")
    assert hop.tick(T0 + 20) == []  # the earlier ticket is the one surveyed


def test_a_repeated_hand_over_is_sent_once(hop):
    hop.ticket()
    hop.now = T0 + 3
    (request,) = hop.followups.fire_due(0, T0 + 3)
    assert types(hop.care.on_request(request.value, 0)) == ["followup.callback_due"]
    assert hop.care.on_request(request.value, 0) == []  # after a crash before the table was written


def test_a_reopened_ticket_is_not_surveyed(hop):
    hop.ticket()
    hop.ticket(status="open", reopen_count=1)
    (cancelled,) = hop.tick(T0 + 3)
    assert orjson.loads(cancelled.value)["data"]["reason"] == "not_resolved"


def test_a_bad_answer_reopens_escalates_and_brings_one_second_followup(hop):
    hop.ticket()
    hop.tick(T0 + 3)
    hop.now = T0 + 4
    outputs = hop.feedback(csat=1)
    reopen = [o for o in outputs if o.topic == "t.tickets.actions"]
    assert len(reopen) == 1 and orjson.loads(reopen[0].value)["type"] == "reopen"
    assert types(outputs) == ["followup.escalated"]
    assert hop.feedback(csat=1) == []  # redelivered
    assert hop.tick(T0 + 8.9) == []
    assert types(hop.tick(T0 + 9.0)) == ["followup.second_followup_due"]  # 5 s after the answer
    assert hop.tick(T0 + 30) == []


def test_a_good_answer_brings_nothing_and_a_better_one_cancels(hop):
    hop.ticket()
    hop.tick(T0 + 3)
    assert hop.feedback(csat=5) == []
    assert hop.tick(T0 + 60) == []
    hop.ticket(ticket_id="TKT-2", customer="C-2")
    hop.tick(T0 + 63)
    hop.feedback(csat=1, ticket_id="TKT-2", key="b1")
    assert types(hop.feedback(csat=5, ticket_id="TKT-2", key="b2")) == ["followup.cancelled"]
    assert hop.tick(T0 + 200) == []


def test_the_comment_is_judged():
    hop = Hop(judge=lambda comment: "没修好" in comment)
    hop.ticket()
    hop.tick(T0 + 3)
    assert "followup.escalated" in types(hop.feedback(csat=4, comment="还是没修好"))


def test_feedback_for_an_unknown_ticket_is_kept(hop):
    assert hop.feedback(csat=2, ticket_id="TKT-NOPE") == []
    assert hop.followups.record("TKT-NOPE").feedback.answers[0].csat == 2


def test_bad_feedback_goes_to_requests_invalid(hop):
    (invalid,) = hop.followups.on_feedback(b'{"ticket_id": "x"}', 0)
    assert invalid.topic == "t.requests.invalid"


def test_a_burst_for_one_customer_respects_the_budget(hop):
    for number in range(100):
        hop.ticket(ticket_id=f"TKT-{number}", customer="C-9")
    events = [orjson.loads(o.value) for o in hop.tick(T0 + 3)]
    sent = [e for e in events if e["type"].endswith("_due")]
    assert len(sent) == 1
    assert {e["data"]["reason"] for e in events if e["type"] == "followup.cancelled"} == {"suppressed"}
    assert len(events) == 100


def test_the_contact_gap_holds_a_second_followup_and_it_comes_back(hop):
    hop.ticket()
    hop.tick(T0 + 3)
    hop.now = T0 + 3
    hop.feedback(csat=1)  # second follow-up due at T0 + 8
    record = hop.care.store.get("C-1")
    record.contacts = fu.record_contact(record.contacts, at=T0 + 7.5, kind="care", key="birthday:2026")
    hop.care.store.put_value(0, "C-1", record)
    assert hop.tick(T0 + 8) == []  # held by the 2 s gap, back on the ticket's partition
    assert hop.followups.record("TKT-1").feedback.second_followup.fire_at == T0 + 9.5
    (due,) = hop.tick(T0 + 9.5)
    event = orjson.loads(due.value)
    assert event["type"] == "followup.second_followup_due" and event["data"]["late"] is True


def test_the_classifier_judges_comments(classifier):
    from streams.stages.followups import comment_judge

    judge = comment_judge(classifier)
    assert judge("还是没修好") and judge("太差了，没人管") and judge("still not fixed")
    assert not judge("谢谢，解决了") and not judge("great, thanks")


def test_the_answers_counter_has_the_labels_the_satisfaction_rule_reads():
    from streams import metrics

    assert metrics.FEEDBACK_ANSWERS._labelnames == ("type", "channel", "department", "satisfied")


def test_a_record_goes_once_its_retention_has_run_out_and_its_ticket_is_retired(hop):
    hop.ticket()
    hop.tick(T0 + 3)
    hop.feedback(csat=5)
    retention = hop.followups.retention
    assert hop.tick(T0 + retention + 10) == []
    assert hop.followups.record("TKT-1") is not None  # the ticket is still kept
    hop.tickets.delete(0, "TKT-1")
    hop.tick(T0 + 2 * retention + 20)
    assert hop.followups.record("TKT-1") is None
