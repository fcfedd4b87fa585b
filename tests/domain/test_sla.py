from streams.domain import sla


def clock(target=100.0, warn_at=(0.75, 0.9), started_at=1000.0):
    made, activated = sla.start_clock("resolution", cycle=1, started_at=started_at, target=target,
                                      warn_at=warn_at, now=started_at)  # fmt: skip
    return made


def kinds(events):
    return [(event.kind, event.level) for event in events]


def test_activation_carries_the_due_moment():
    _, activated = sla.start_clock("first_response", cycle=1, started_at=50.0, target=10.0, warn_at=(), now=55.0)
    assert (activated.kind, activated.due_at, activated.at) == ("activated", 60.0, 50.0)


def test_points_fire_in_order_once_each():
    running = clock()
    assert kinds(sla.fire_points(running, upto=1074.9, now=1074.9)) == []
    assert kinds(sla.fire_points(running, upto=1075.0, now=1075.0)) == [("warning", 75)]
    assert kinds(sla.fire_points(running, upto=1200.0, now=1200.0)) == [("warning", 90), ("breached", 0)]
    assert sla.fire_points(running, upto=5000.0, now=5000.0) == []


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
    sla.resume(running, at=1140.0, now=1140.0)
    assert running.due_at == 1200.0  # 40 s spent before the pause, 60 s left after it
    assert running.elapsed(1150.0) == 50.0


def test_resume_event_carries_the_new_due_moment():
    running = clock()
    sla.pause(running, at=1010.0, now=1010.0)
    events = sla.resume(running, at=1030.0, now=1030.0)
    assert kinds(events) == [("resumed", 1)] and events[0].due_at == 1120.0


def test_points_passed_before_a_late_processed_stop_still_fire():
    running = clock()
    events = sla.stop(running, at=1120.0, now=1121.0)  # resolved after the breach, timer had not fired yet
    assert kinds(events) == [("warning", 75), ("warning", 90), ("breached", 0), ("fulfilled", 0)]
    assert events[-1].within_target is False


def test_stop_before_due_is_within_target_with_elapsed_time():
    running = clock()
    events = sla.stop(running, at=1030.0, now=1030.0)
    assert kinds(events) == [("fulfilled", 0)]
    assert events[0].within_target is True and events[0].elapsed == 30.0


def test_points_after_the_stop_never_fire():
    running = clock()
    sla.stop(running, at=1010.0, now=1010.0)
    assert sla.fire_points(running, upto=9999.0, now=9999.0) == []
    assert running.next_point() is None


def test_stop_while_paused_closes_the_pause():
    running = clock()
    sla.pause(running, at=1010.0, now=1010.0)
    events = sla.stop(running, at=1500.0, now=1500.0)
    assert events[-1].elapsed == 10.0 and events[-1].within_target is True


def test_second_stop_is_ignored():
    running = clock()
    sla.stop(running, at=1010.0, now=1010.0)
    assert sla.stop(running, at=1020.0, now=1020.0) == []


def test_event_emitted_long_after_its_moment_is_late():
    running = clock()
    (warning,) = sla.fire_points(running, upto=1075.0, now=1075.5)
    assert not warning.late
    events = sla.fire_points(running, upto=2000.0, now=2000.0)
    assert all(event.late for event in events)
