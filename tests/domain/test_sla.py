from streams.domain import sla
from streams.domain.calendars import ALWAYS_OPEN
from tests.domain.test_calendars import OFFICE, at, local


def clock(target=100.0, warn_at=(0.75, 0.9), started_at=1000.0, ladder=(), calendar=ALWAYS_OPEN):
    made, _ = sla.start_clock(
        "resolution",
        cycle=1,
        started_at=started_at,
        target=target,
        calendar=calendar,
        now=started_at,
        warn_at=warn_at,
        ladder=ladder,
    )
    return made


def kinds(events):
    return [(event.kind, event.level) for event in events]


def test_activation_carries_the_due_moment():
    _, activated = sla.start_clock(
        "first_response", cycle=1, started_at=50.0, target=10.0, calendar=ALWAYS_OPEN, now=55.0
    )
    assert (activated.kind, activated.due_at, activated.at) == ("activated", 60.0, 50.0)


def test_points_fire_in_order_once_each():
    running = clock()
    assert kinds(sla.fire_points(running, upto=1074.9, now=1074.9)) == []
    assert kinds(sla.fire_points(running, upto=1075.0, now=1075.0)) == [("warning", 75)]
    assert kinds(sla.fire_points(running, upto=1200.0, now=1200.0)) == [("warning", 90), ("breached", 0)]
    assert sla.fire_points(running, upto=5000.0, now=5000.0) == []


def test_every_escalation_level_fires_once_at_its_delay_after_the_breach():
    running = clock(warn_at=(), ladder=((1, 0.0), (2, 50.0), (3, 200.0)))
    assert kinds(sla.fire_points(running, upto=1100.0, now=1100.0)) == [("breached", 0), ("escalated", 1)]
    assert kinds(sla.fire_points(running, upto=1150.0, now=1150.0)) == [("escalated", 2)]
    assert kinds(sla.fire_points(running, upto=1299.0, now=1299.0)) == []
    assert kinds(sla.fire_points(running, upto=1300.0, now=1300.0)) == [("escalated", 3)]
    assert sla.fire_points(running, upto=9999.0, now=9999.0) == []


def test_stopping_before_a_level_means_it_never_fires():
    running = clock(warn_at=(), ladder=((1, 0.0), (2, 50.0)))
    sla.fire_points(running, upto=1100.0, now=1100.0)
    sla.stop(running, at=1120.0, calendar=ALWAYS_OPEN, now=1120.0)
    assert sla.fire_points(running, upto=9999.0, now=9999.0) == []


def test_next_point_skips_fired_points():
    running = clock()
    assert running.next_point() == 1075.0
    sla.fire_points(running, upto=1080.0, now=1080.0)
    assert running.next_point() == 1090.0


def test_pause_pushes_the_deadline_out_and_keeps_time_spent():
    running = clock()
    sla.pause(running, at=1040.0, now=1040.0)
    assert running.next_point() is None  # frozen while waiting on the customer
    assert sla.fire_points(running, upto=1500.0, now=1500.0) == []
    sla.resume(running, at=1140.0, calendar=ALWAYS_OPEN, now=1140.0)
    assert running.due_at == 1200.0  # 40 s spent before the pause, 60 s left after it
    assert running.elapsed(ALWAYS_OPEN, 1150.0) == 50.0


def test_resume_event_carries_the_new_due_moment():
    running = clock()
    sla.pause(running, at=1010.0, now=1010.0)
    events = sla.resume(running, at=1030.0, calendar=ALWAYS_OPEN, now=1030.0)
    assert kinds(events) == [("resumed", 1)] and events[0].due_at == 1120.0


def test_points_passed_before_a_late_processed_stop_still_fire():
    running = clock()
    events = sla.stop(running, at=1120.0, calendar=ALWAYS_OPEN, now=1121.0)
    assert kinds(events) == [("warning", 75), ("warning", 90), ("breached", 0), ("fulfilled", 0)]
    assert events[-1].within_target is False


def test_stop_before_due_is_within_target_with_elapsed_time():
    running = clock()
    events = sla.stop(running, at=1030.0, calendar=ALWAYS_OPEN, now=1030.0)
    assert kinds(events) == [("fulfilled", 0)]
    assert events[0].within_target is True and events[0].elapsed == 30.0


def test_stop_while_paused_closes_the_pause():
    running = clock()
    sla.pause(running, at=1010.0, now=1010.0)
    events = sla.stop(running, at=1500.0, calendar=ALWAYS_OPEN, now=1500.0)
    assert events[-1].elapsed == 10.0 and events[-1].within_target is True


def test_second_stop_is_ignored():
    running = clock()
    sla.stop(running, at=1010.0, calendar=ALWAYS_OPEN, now=1010.0)
    assert sla.stop(running, at=1020.0, calendar=ALWAYS_OPEN, now=1020.0) == []


def test_event_emitted_long_after_its_moment_is_late():
    running = clock()
    (warning,) = sla.fire_points(running, upto=1075.0, now=1075.5)
    assert not warning.late
    events = sla.fire_points(running, upto=2000.0, now=2000.0)
    assert all(event.late for event in events)


def test_business_clock_points_fall_in_working_hours():
    start = at("2026-11-20 16:00")  # Friday
    running = clock(target=4 * 3600, warn_at=(0.5,), started_at=start, calendar=OFFICE, ladder=((1, 3600.0),))
    assert [(local(moment), kind) for moment, kind, _ in running.points] == [
        ("2026-11-20 18:00", "warning"),
        ("2026-11-23 11:00", "breached"),
        ("2026-11-23 12:00", "escalated"),
    ]


def test_pause_over_a_weekend_costs_no_business_time():
    start = at("2026-11-20 16:00")
    running = clock(target=4 * 3600, warn_at=(), started_at=start, calendar=OFFICE)
    sla.pause(running, at=at("2026-11-20 17:00"), now=0)
    sla.resume(running, at=at("2026-11-23 10:00"), calendar=OFFICE, now=0)
    # 1 h spent before the pause; the pause took 2 working hours (Fri 17-18, Mon 9-10); 3 h left.
    assert local(running.due_at) == "2026-11-23 14:30"
    events = sla.stop(running, at=at("2026-11-23 11:00"), calendar=OFFICE, now=0)
    assert events[-1].elapsed == 2 * 3600
