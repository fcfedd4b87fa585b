from streams.state.progress import IDLE_SECONDS, STARTUP_GRACE_SECONDS, InputProgress

TOPICS = ("classified", "actions")


def ready(now=100.0):
    progress = InputProgress()
    progress.recovered(now - STARTUP_GRACE_SECONDS - 1)
    return progress


def test_nothing_fires_right_after_a_recovery():
    progress = InputProgress()
    progress.recovered(100.0)
    assert progress.watermark(0, TOPICS, 100.5, lambda t, p: 0) == float("-inf")


def test_caught_up_inputs_let_everything_due_fire():
    progress = ready()
    progress.record("actions", 0, offset=9, record_time=90.0, now=99.9)
    assert progress.watermark(0, TOPICS, 100.0, lambda t, p: 10) == 100.0


def test_while_actions_are_being_caught_up_only_points_before_the_last_one_read_fire():
    progress = ready()
    progress.record("actions", 0, offset=3, record_time=40.0, now=99.9)
    assert progress.watermark(0, TOPICS, 100.0, lambda t, p: 50 if t == "actions" else None) == 40.0


def test_an_idle_input_without_a_known_end_counts_as_caught_up():
    progress = ready()
    progress.record("actions", 0, offset=3, record_time=40.0, now=100.0 - IDLE_SECONDS - 0.1)
    assert progress.watermark(0, TOPICS, 100.0, lambda t, p: None) == 100.0


def test_other_partitions_are_not_held_back():
    progress = ready()
    progress.record("actions", 1, offset=3, record_time=40.0, now=99.9)
    assert progress.watermark(0, TOPICS, 100.0, lambda t, p: 50) == 100.0
