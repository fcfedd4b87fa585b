from streams.state.open_tickets import OpenTickets


def test_counts_follow_transitions_per_partition():
    counts = OpenTickets()
    counts.assign([0, 1])
    counts.update(0, None, ("product", "high"))
    counts.update(1, None, ("product", "high"))
    counts.update(0, ("product", "high"), None)
    assert counts.totals() == {("product", "high"): 1}


def test_revoked_partition_no_longer_counts():
    counts = OpenTickets()
    counts.assign([0, 1])
    counts.update(1, None, ("operations", "normal"))
    counts.drop([1])
    assert counts.total() == 0


def test_exported_as_a_gauge_by_department_and_priority():
    counts = OpenTickets()
    counts.assign([0])
    counts.update(0, None, ("operations", "normal"))
    (family,) = list(counts.collect())
    assert family.name == "ticketflow_open_tickets"
    assert [(sample.labels, sample.value) for sample in family.samples] == [
        ({"department": "operations", "priority": "normal"}, 1.0)
    ]
