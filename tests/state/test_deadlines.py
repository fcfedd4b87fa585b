from streams.state.deadlines import DeadlineIndex


def index_with(*partitions):
    index = DeadlineIndex()
    index.assign(partitions)
    return index


def test_pops_only_what_is_due_in_time_order():
    index = index_with(0)
    index.schedule(0, "b", 20.0)
    index.schedule(0, "a", 10.0)
    index.schedule(0, "c", 30.0)
    assert index.pop_due(0, now=25.0, limit=10) == ["a", "b"]
    assert index.pop_due(0, now=25.0, limit=10) == []


def test_rescheduling_replaces_the_old_moment():
    index = index_with(0)
    index.schedule(0, "a", 10.0)
    index.schedule(0, "a", 50.0)
    assert index.pop_due(0, now=20.0, limit=10) == []
    assert index.pop_due(0, now=50.0, limit=10) == ["a"]


def test_nothing_left_to_fire_unschedules():
    index = index_with(0)
    index.schedule(0, "a", 10.0)
    index.schedule(0, "a", None)
    assert index.pop_due(0, now=99.0, limit=10) == [] and index.scheduled() == 0


def test_partitions_not_owned_are_ignored():
    index = index_with(0)
    index.schedule(3, "x", 1.0)
    assert index.scheduled() == 0 and index.pop_due(3, now=9.0, limit=10) == []


def test_dropping_a_revoked_partition_forgets_its_tickets():
    index = index_with(0, 1)
    index.schedule(0, "a", 1.0)
    index.schedule(1, "b", 1.0)
    index.drop([1])
    assert index.partitions() == [0] and index.scheduled() == 1


def test_limit_bounds_one_pop_and_keeps_the_rest():
    index = index_with(0)
    for number in range(5):
        index.schedule(0, f"t{number}", float(number))
    assert len(index.pop_due(0, now=10.0, limit=3)) == 3
    assert len(index.pop_due(0, now=10.0, limit=3)) == 2


def test_next_due_is_the_earliest_over_partitions():
    index = index_with(0, 1)
    index.schedule(0, "a", 5.0)
    index.schedule(1, "b", 3.0)
    assert index.next_due() == 3.0
