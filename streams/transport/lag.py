"""Consumer lag per input partition a worker owns, read at scrape time.

Two gauges, by topic and partition (bounded: the pipeline's input topics × partitions):

- `ticketflow_consumer_lag`: records in the partition not committed yet (the broker's end
  offset as last fetched minus the group's committed offset);
- `ticketflow_consumer_committed_offset`: the committed offset itself, so a partition whose lag
  stays above zero while this does not move is seen as stalled.

Nothing is asked of the broker: both figures are what the consumer already holds (the end
offset arrives with every fetch response). Changelog partitions (table recovery and standbys)
are left out; their progress is the tables' business, not the group's commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CHANGELOG_SUFFIX = "-changelog"


def partition_lag(consumer: Any) -> list[tuple[str, int, int, int]]:
    """(topic, partition, committed offset, lag) for each assigned input partition whose end
    offset is known; empty while the consumer is not running."""
    try:
        assigned = sorted(consumer.assignment())
    except Exception:  # noqa: BLE001 - not started yet, stopping, or rebalancing
        return []
    committed_offsets = getattr(consumer, "_committed_offset", {})
    rows = []
    for tp in assigned:
        if tp.topic.endswith(CHANGELOG_SUFFIX):
            continue
        try:
            end = consumer.highwater(tp)
        except Exception:  # noqa: BLE001 - partition revoked meanwhile
            continue
        if end is None:
            continue  # nothing fetched from it yet
        # faust keeps "nothing committed" and "committed 0" both as None; the group then reads
        # from the beginning (consumer_auto_offset_reset="earliest").
        committed = committed_offsets.get(tp) or 0
        rows.append((tp.topic, tp.partition, committed, max(0, end - committed)))
    return rows


class ConsumerLag(Collector):
    def __init__(self, consumer: Callable[[], Any]) -> None:
        self._consumer = consumer

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "ticketflow_consumer_lag",
            "Records in an input partition this worker owns that are not committed yet (end offset - committed offset).",
            labels=["topic", "partition"],
        )
        committed = GaugeMetricFamily(
            "ticketflow_consumer_committed_offset",
            "The consumer group's committed offset of an input partition this worker owns.",
            labels=["topic", "partition"],
        )
        consumer = self._consumer()
        for topic, partition, offset, behind in partition_lag(consumer) if consumer is not None else []:
            lag.add_metric([topic, str(partition)], behind)
            committed.add_metric([topic, str(partition)], offset)
        yield lag
        yield committed
