"""care stage: the day's occasions once, the catch-up after a restart, caps, ownership."""

from __future__ import annotations

from datetime import date, timedelta

import orjson

from streams.domain import followups as fu
from streams.models import CustomerProfile
from streams.stages.care import CareStage
from streams.stages.followup_records import CareRecord
from streams.testing import MemoryRecordStore
from tests.stages.helpers import CATALOG

CARE = fu.load_care_file(fu.files.bundled_file("care-demo.yaml"))  # send_at 00:00 Asia/Shanghai, gap 2 s
DAY = date(2027, 3, 10)
SEND = CARE.send_moment(DAY)


def stage(store=None, now=SEND - 3600):
    clock = {"now": now}
    care = CareStage(
        CATALOG,
        followup_file=fu.load_followup_file(fu.files.bundled_file("followups-demo.yaml")),
        care_file=CARE,
        store=store or MemoryRecordStore(CareRecord),
        returns_topic="t.contact-returns",
        key_partition=lambda _: 0,
        clock=lambda: clock["now"],
    )
    care.clock_value = clock
    care.rebuild({0}, now)
    return care


def profile(customer="C-1", **fields):
    return CustomerProfile(customer_id=customer, **fields).model_dump_json().encode()


def events(outputs):
    return [orjson.loads(o.value) for o in outputs]


def test_a_birthday_goes_out_once_at_send_at():
    care = stage()
    care.days_done[0] = DAY - timedelta(days=1)
    care.on_profile(profile(birthday=date(1990, 3, 10)))
    assert care.run_days(SEND - 1) == []
    (sent,) = events(care.run_days(SEND + 0.2))
    assert sent["type"] == "care.birthday" and sent["data"]["occasion_key"] == "birthday:2027"
    assert sent["data"]["late"] is False
    assert care.run_days(SEND + 10) == []


def test_after_a_restart_missed_days_are_caught_up_and_nothing_is_sent_twice():
    store = MemoryRecordStore(CareRecord)
    first = stage(store)
    first.on_profile(profile(birthday=date(1990, 3, 10)))
    later = SEND + 6 * 3600
    restarted = stage(store, now=later)  # the worker was down at send_at
    (sent,) = events(restarted.run_days(later))
    assert sent["type"] == "care.birthday" and sent["data"]["late"] is True
    again = stage(store, now=later + 60)
    assert again.run_days(later + 60) == []


def test_the_monthly_cap_and_the_gap():
    care = stage()
    care.days_done[0] = DAY - timedelta(days=1)
    care.on_profile(profile(tier="vip", birthday=date(1990, 3, 10), first_purchase=date(2020, 3, 10)))
    (first,) = events(care.run_days(SEND))  # birthday; the anniversary waits for the 2 s gap
    assert first["type"] == "care.birthday"
    (second,) = events(care.run_days(SEND + 2))
    assert second["type"] == "care.anniversary"
    record = care.store.get("C-1")
    assert record.contacts.care_in_month(SEND + 2, CARE.zone) == 2 and record.held == []


def test_a_profile_arriving_after_the_day_ran_is_looked_at_at_once():
    care = stage(now=SEND + 60)
    care.run_days(SEND + 60)
    (sent,) = events(care.on_profile(profile(birthday=date(1990, 3, 10))))
    assert sent["type"] == "care.birthday"


def test_only_owned_partitions_are_run():
    care = stage()
    care.days_done[0] = DAY - timedelta(days=1)
    care.on_profile(profile(birthday=date(1990, 3, 10)))
    care.revoke([0])
    assert care.run_days(SEND + 1) == []
