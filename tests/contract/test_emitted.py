"""Every event the code emits is in docs/asyncapi.yaml: the real stages, driven on in-memory
stores, emit every type on its declared topic with data valid against the declared schema; and
every type string the code builds is declared (docs/topics.md#asyncapi)."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path
from typing import get_args

import orjson
import pytest

from streams import ids
from streams.catalog import TopicCatalog
from streams.contract import EVENT_TYPES
from streams.domain import followups, sla
from streams.domain.followups.care import CareDue
from streams.domain.followups.files import Occasion
from streams.domain.policies import PolicyFile
from streams.models import TicketAction
from streams.records import Output
from streams.stages.classify import ClassifyStage
from streams.stages.common import CLOUDEVENT_HEADERS
from streams.stages.lifecycle import LifecycleStage
from streams.stages.normalize import NormalizeStage
from streams.stages.windows import SlaWindowsStage
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.testing import MemoryTicketStore, MemoryWindowStore
from tests.contract.document import ROOT, errors, message_for
from tests.stages.helpers import CATALOG, NOW, REPLY_HOLD, raw_record

FACTS = "t.facts"  # internal (streams/catalog.py sla_facts_topic): not part of the contract
# Topics of the follow-up and care stages, not driven by this scenario: their builders are checked
# below, the stages in test_emitted_followups.py.
NOT_WIRED = {"followups", "care"}
POLICIES = PolicyFile.model_validate(
    {
        "warn_at": [0.5],
        "escalation": [{"level": 1, "after_breach": "0s", "notify": ["supervisor"]}],
        "policies": [{"name": "short", "targets": {"first_response": "10s", "resolution": "60s"}}],
    }
)


def _mail_reply() -> TicketAction:
    from streams.adapters import email
    from tests.adapters import mails

    (action,) = email.mail_intake(mails.reply("<news-7@shop.example>"), NOW).actions
    return action


def _run(classifier, routing) -> list[Output]:
    """One ignored ticket (warnings, breaches, escalations), one handled ticket (pause, resume,
    reply, transfer, resolve), a rejected record, a mail reply to an unknown thread, and the
    SLA windows they close."""
    clock = {"now": NOW.timestamp()}
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign([0])
    counts.assign([0])
    lifecycle = LifecycleStage(
        CATALOG,
        routing=routing,
        policies=POLICIES,
        store=MemoryTicketStore(),
        index=index,
        open_tickets=counts,
        facts_topic=FACTS,
        reply_hold_seconds=REPLY_HOLD,
        clock=lambda: clock["now"],
    )
    normalize, classify = NormalizeStage(CATALOG), ClassifyStage(CATALOG, classifier)
    outputs = list(normalize.process(b"{not json", "app"))
    for key in ("ignored", "handled"):
        (normalized,) = normalize.process(raw_record(key=key), "app")
        (classified,) = classify.process(normalized.value)
        outputs += [normalized, classified, *lifecycle.on_classified(classified.value, 0)]
    handled = ids.ticket_id("app", "handled")
    steps = [
        ("pending", None),
        ("customer_reply", None),
        ("reply", None),
        ("transfer", "complaint_taskforce"),
        ("resolve", None),
    ]
    for seconds, (kind, department) in enumerate(steps, start=2):
        clock["now"] = NOW.timestamp() + seconds
        action = TicketAction(
            action_id=f"A{seconds}",
            ticket_id=handled,
            type=kind,
            by="agent",
            department=department,
            at=NOW.replace(second=seconds),
        )
        outputs += lifecycle.on_action(action.model_dump_json().encode(), 0)
    outputs += lifecycle.on_action(_mail_reply().model_dump_json().encode(), 0)
    for seconds in (30, 61, REPLY_HOLD + 1):
        clock["now"] = NOW.timestamp() + seconds
        outputs += lifecycle.fire_due(0, clock["now"])
    windows = SlaWindowsStage(
        CATALOG,
        store=MemoryWindowStore(),
        zone="Asia/Shanghai",
        grace_seconds=60,
        retention_seconds={"hour": 7200, "day": 86400 * 3},
        partition_of=lambda _: 0,
        clock=lambda: NOW.timestamp() + 2 * 3600,
    )
    windows.on_facts([(0, offset, output.value) for offset, output in enumerate(outputs) if output.topic == FACTS])
    return outputs + windows.close_due({0})


@pytest.fixture(scope="module")
def emitted(classifier, routing) -> list[Output]:
    return [output for output in _run(classifier, routing) if output.topic != FACTS]


def _check(topic: str, value: bytes, headers: tuple[tuple[str, bytes], ...]) -> str | None:
    """Validate one output against the document; the CloudEvent type, or None for a record."""
    document = orjson.loads(value)
    event_type = document.get("type") if headers == CLOUDEVENT_HEADERS else None
    pointer = message_for(topic.removeprefix(CATALOG.prefix), event_type)
    found = errors(pointer + "/payload", document)
    assert not found, f"{event_type or 'record'} on {topic} does not match docs/asyncapi.yaml: {found}"
    return event_type


def test_every_output_of_the_stages_is_declared_and_valid(emitted):
    seen = {_check(output.topic, output.value, output.headers) for output in emitted} - {None}
    topics = {output.topic.removeprefix(CATALOG.prefix) for output in emitted}
    assert {"requests.invalid", "requests.normalized", "requests.classified", "raw.email"} <= topics
    expected = {spec.type for spec in EVENT_TYPES if spec.topic not in NOT_WIRED}
    assert seen == expected, f"the scenario no longer emits {sorted(expected - seen)}"


def _followup(kind: str, **changes) -> followups.ScheduledFollowup:
    fields = dict(
        ticket_id="TKT-1",
        customer_id="C-1",
        kind=kind,
        name="default",
        cycle=0,
        resolved_at=NOW.timestamp(),
        due_at=NOW.timestamp() + 3600,
        fire_at=NOW.timestamp() + 3600,
        via="preferred",
        channel="app",
        language="zh",
    )
    fields.update(changes)
    return followups.ScheduledFollowup(**fields)


def _care(occasion: str) -> CareDue:
    return CareDue(
        customer_id="C-1",
        occasion=occasion,
        key=f"{occasion}:2026",
        day=date(2026, 11, 20),  # type: ignore[arg-type]
        send_day=date(2026, 11, 20),
        due_at=NOW.timestamp(),
        via="preferred",
        channel="app",
        tier="vip",
    )


def test_every_follow_up_and_care_event_built_is_declared_and_valid():
    now = NOW.timestamp() + 7200
    second = _followup(
        "second_followup",
        name="second-followup",
        via="callback",
        channel="phone",
        feedback_key="FB-1",
        fire_at=NOW.timestamp() + 5400,
    )
    events = [
        followups.followup_due(_followup("survey"), now=now, late=True),
        followups.followup_due(_followup("callback", via="callback", channel="phone"), now=now, late=False),
        followups.followup_due(second, now=now, late=False),
        followups.followup_cancelled(second, reason="better_answer", detail="a better answer came", now=now),
        followups.followup_escalated(
            ticket_id="TKT-1",
            customer_id=None,
            feedback_id="FB-1",
            policy=None,
            notify=("supervisor",),
            reasons=["csat 1"],
            csat=1,
            nps=None,
            reopened=True,
            now=now,
        ),
        *(followups.care_due(_care(occasion), now=now, late=False) for occasion in get_args(Occasion)),
        followups.care_suppressed(_care("birthday"), reason="monthly_cap", detail="2 this month", now=now),
    ]
    topics = {spec.type: spec.topic for spec in EVENT_TYPES}
    seen = {_check(topics[event["type"]], orjson.dumps(event), CLOUDEVENT_HEADERS) for event in events}
    assert seen == {spec.type for spec in EVENT_TYPES if spec.topic in NOT_WIRED}


# -- the type strings in the code ----------------------------------------------------------------

_NAMESPACES = ("ticket", "sla", "followup", "care")


def _sources() -> list[tuple[Path, ast.AST]]:
    package = ROOT / "streams"
    return [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(package.rglob("*.py"))
        if "contract" not in path.relative_to(package).parts
    ]


def _sla_kinds(sources) -> set[str]:
    """Every kind an SlaEvent is made with: literal first arguments, and the point kinds of
    streams/domain/sla.py (WARNING, BREACH, ESCALATION) the timer passes on."""
    kinds = {value for name, value in vars(sla).items() if name.isupper() and isinstance(value, str)}
    for _, tree in sources:
        for node in ast.walk(tree):
            called = getattr(node.func, "id", getattr(node.func, "attr", None)) if isinstance(node, ast.Call) else None
            if called == "SlaEvent" and node.args and isinstance(node.args[0], ast.Constant):
                kinds.add(node.args[0].value)
    return kinds


def code_event_types() -> set[str]:
    """CloudEvents type strings written in streams/ (and f-strings like `sla.{kind}`, expanded)."""
    sources = _sources()
    expansions = {"sla.": _sla_kinds(sources), "care.": set(get_args(Occasion))}
    not_types = set(TopicCatalog("").public_topics([]))
    found: set[str] = set()
    for path, tree in sources:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                head, _, rest = node.value.partition(".")
                if (
                    head in _NAMESPACES
                    and rest
                    and rest.replace("_", "").replace(".", "").isalpha()
                    and rest.islower()
                    and node.value not in not_types
                    and rest not in ("yaml", "json")
                ):
                    found.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                prefix = str(node.values[0].value)
                if prefix.split(".")[0] in _NAMESPACES and prefix.endswith("."):
                    assert prefix in expansions and len(node.values) == 2, (
                        f"{path}:{node.lineno}: event type {ast.unparse(node)}: tell this test what it expands to"
                    )
                    found |= {prefix + kind for kind in expansions[prefix]}
    return found


def test_every_event_type_in_the_code_is_in_the_document():
    in_code, declared = code_event_types(), {spec.type for spec in EVENT_TYPES}
    assert not in_code - declared, (
        f"event types emitted but not in docs/asyncapi.yaml: {sorted(in_code - declared)}; describe their data in "
        "streams/contract/events.py and run `ticketflow contract`"
    )
    assert not declared - in_code, f"declared but no longer built: {sorted(declared - in_code)}"
