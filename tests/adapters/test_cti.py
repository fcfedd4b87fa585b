import json
from datetime import UTC, datetime, timedelta

from streams import ids
from streams.adapters import cti
from streams.adapters.base import HttpInput, Intake, Parsed, Skip
from tests.adapters import platforms

SECRET = b"cti-secret-0123456789"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
OFFERED = NOW - timedelta(minutes=12)
ANSWERED = NOW - timedelta(minutes=9)


def event(kind: str, **fields):
    body = {"event": kind, "call_id": "call-77", "at": NOW.isoformat(), "caller": "+86 139 0000 2222", **fields}
    raw = json.dumps(body, ensure_ascii=False).encode()
    request = HttpInput.of("POST", {}, platforms.signed_headers(SECRET, raw, int(NOW.timestamp())), raw, NOW)
    return cti.accept(request, SECRET)


def wrap_up(**fields):
    return event(
        "wrap_up",
        offered_at=OFFERED.isoformat(),
        answered_at=ANSWERED.isoformat(),
        agent_id="a-17",
        notes="客户反映宽带断网，已报修",
        ivr_choice="2",
        **fields,
    )


def test_every_call_event_is_kept_with_the_call_and_event_as_key():
    intake = event("offered")
    assert isinstance(intake, Intake) and intake.idempotency_key == "call-77:offered"
    assert intake.ticket_id == ids.ticket_id("phone", "call-77")


def test_wrap_up_creates_the_request_with_the_clock_started_when_the_call_was_offered():
    parsed = cti.parse(wrap_up().envelope())
    assert isinstance(parsed, Parsed)
    assert parsed.submission.text == "客户反映宽带断网，已报修" and "IVR 2" in parsed.submission.subject
    assert parsed.submission.submitted_at == OFFERED


def test_wrap_up_publishes_the_agents_answer_as_the_first_response():
    (reply,) = wrap_up().actions
    assert (reply.type, reply.by, reply.at) == ("reply", "a-17", ANSWERED)
    assert reply.ticket_id == ids.ticket_id("phone", "call-77")


def test_wrap_up_marked_resolved_also_resolves_the_ticket():
    assert [action.type for action in wrap_up(resolved=True).actions] == ["reply", "resolve"]


def test_wrap_up_without_notes_is_refused_with_the_field_named():
    refusal = event("wrap_up", agent_id="a-1")
    assert refusal.status == 422 and refusal.rejection.errors[0]["field"] == "notes"


def test_offered_and_answered_events_are_not_requests():
    assert isinstance(cti.parse(event("offered").envelope()), Skip)
    assert isinstance(cti.parse(event("answered").envelope()), Skip)


def test_abandoned_call_with_a_callback_request_becomes_a_callback_request():
    parsed = cti.parse(event("abandoned", callback_requested=True).envelope())
    assert isinstance(parsed, Parsed) and "回电" in parsed.submission.text
    assert isinstance(cti.parse(event("abandoned").envelope()), Skip)


def test_answer_wait_runs_from_offered_to_answered():
    answered = cti.parse_event(json.dumps({"event": "answered", "call_id": "c", "at": ANSWERED.isoformat()}))
    assert cti.answer_wait(answered, OFFERED).seconds == 180
    assert cti.answer_wait(answered, None) is None


def test_unknown_event_kind_is_refused():
    assert event("ringing").rejection.errors[0]["field"] == "event"
