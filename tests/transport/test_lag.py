"""Consumer lag gauges: end offset minus committed offset per owned input partition."""

from __future__ import annotations

from faust.types import TP
from prometheus_client import CollectorRegistry, generate_latest

from streams.transport.lag import ConsumerLag, partition_lag


class FakeConsumer:
    def __init__(self, ends: dict, committed: dict, started: bool = True) -> None:
        self.ends, self._committed_offset, self.started = ends, committed, started

    def assignment(self):
        if not self.started:
            raise RuntimeError("consumer not started")
        return set(self.ends)

    def highwater(self, tp):
        return self.ends[tp]


def test_lag_is_end_minus_committed_for_input_partitions_only():
    consumer = FakeConsumer(
        ends={
            TP("p.requests.raw", 0): 120,
            TP("p.requests.raw", 1): 7,
            TP("p.tickets.actions", 0): None,
            TP("p-tickets-changelog", 0): 5000,
            TP("p.requests.classified", 2): 40,
        },
        committed={TP("p.requests.raw", 0): 100, TP("p.requests.raw", 1): 7, TP("p.requests.classified", 2): None},
    )
    assert partition_lag(consumer) == [
        ("p.requests.classified", 2, 0, 40),  # nothing committed: read from the beginning
        ("p.requests.raw", 0, 100, 20),
        ("p.requests.raw", 1, 7, 0),
    ]  # the changelog and the partition not fetched yet are left out


def test_the_gauges_are_exported_and_empty_without_a_running_consumer():
    registry = CollectorRegistry()
    consumers = [
        None,
        FakeConsumer({}, {}, started=False),
        FakeConsumer({TP("p.requests.raw", 3): 9}, {TP("p.requests.raw", 3): 4}),
    ]
    registry.register(ConsumerLag(lambda: consumers[0]))
    for _ in range(2):
        text = generate_latest(registry).decode()
        assert "# TYPE ticketflow_consumer_lag gauge" in text and "ticketflow_consumer_lag{" not in text
        consumers.pop(0)
    text = generate_latest(registry).decode()
    assert 'ticketflow_consumer_lag{partition="3",topic="p.requests.raw"} 5.0' in text
    assert 'ticketflow_consumer_committed_offset{partition="3",topic="p.requests.raw"} 4.0' in text
