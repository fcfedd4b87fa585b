"""SLA windows: facts from the lifecycle → hour and day windows per department × channel × priority."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import orjson

from streams import ids, metrics
from streams.catalog import TopicCatalog
from streams.domain import events, windows
from streams.records import Output
from streams.stages.common import CLOUDEVENT_HEADERS
from streams.state.stores import WindowStore

log = logging.getLogger(__name__)


_APPLIED = "__applied__|"


def _applied_key(partition: int) -> str:
    return f"{_APPLIED}{partition}"


class SlaWindowsStage:
    """SLA facts → hour and day windows per department × channel × priority; closed windows
    are emitted once to `sla.windows` (again, as a new revision, if late facts change them),
    and dropped after their retention."""

    def __init__(
        self,
        catalog: TopicCatalog,
        *,
        store: WindowStore,
        zone: str,
        grace_seconds: float,
        retention_seconds: dict[str, float],
        partition_of: Callable[[str], int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.zone = ZoneInfo(zone)
        self.grace = grace_seconds
        self.retention = retention_seconds
        self.partition_of = partition_of
        self.clock = clock

    def on_facts(self, facts: list[tuple[int, int, bytes]], *, deferred: list[tuple[int, str]] | None = None) -> None:
        """Count a batch of (partition, offset, fact); each touched window is written once.

        The last offset counted per partition is stored with the windows (in the same
        changelog partition, after them), so facts read again after a crash or a rebalance
        are recognised and not counted twice. With `deferred`, the writes are kept in memory
        and listed there for the caller to send to the changelog (in order, after the
        closing events still waiting for acknowledgement: streams/state/pending_writes.py)."""
        touched: dict[str, tuple[int, dict]] = {}
        applied: dict[int, int] = {}
        for partition, offset, raw in facts:
            if partition not in applied:
                marker = self.store.get(_applied_key(partition))
                applied[partition] = marker["offset"] if marker else -1
            if offset <= applied[partition]:
                continue  # counted before the restart
            applied[partition] = offset
            try:
                document = orjson.loads(raw)
                keys = windows.window_keys(document, self.zone)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("sla windows: unreadable fact skipped: %r", raw[:200])
                metrics.STAGE_ERRORS.labels("windows").inc()
                continue
            try:
                for key in keys:
                    encoded = key.encode()
                    entry = touched.get(encoded)
                    if entry is None:
                        entry = touched[encoded] = (partition, self.store.get(encoded) or windows.empty())
                    windows.add(entry[1], document)
            except (KeyError, TypeError, ValueError):
                log.warning("sla windows: fact not counted: %r", raw[:200])
                metrics.STAGE_ERRORS.labels("windows").inc()
        for encoded, (partition, aggregate) in touched.items():
            self._put(partition, encoded, aggregate, deferred)
        for partition, offset in applied.items():
            self._put(partition, _applied_key(partition), {"offset": offset}, deferred)

    def _put(self, partition: int, key: str, value: dict, deferred: list[tuple[int, str]] | None) -> None:
        self.store.put(partition, key, value, changelog=deferred is None)
        if deferred is not None:
            deferred.append((partition, key))

    def close_due(self, owned: set[int], *, deferred: list[tuple[int, str]] | None = None) -> list[Output]:
        """Emit windows that ended more than the grace period ago and changed since last emitted;
        drop windows past their retention. With `deferred`, that a window was emitted is kept
        in memory and listed there, to be recorded once its event is acknowledged."""
        now = self.clock()
        outputs = []
        for encoded in self.store.keys():
            if encoded.startswith(_APPLIED):
                continue
            key = windows.WindowKey.decode(encoded)
            partition = self.partition_of(key.department)
            if partition not in owned:
                continue
            end = key.end(self.zone)
            if now > end + self.retention[key.size]:
                self.store.delete(partition, encoded)
                continue
            aggregate = self.store.get(encoded)
            if aggregate is None or now < end + self.grace or aggregate["revision"] <= aggregate["emitted_revision"]:
                continue
            summary = windows.summary(key, aggregate, self.zone)
            summary["start"], summary["end"] = events.iso(summary["start"]), events.iso(summary["end"])
            event = events.cloudevent(
                event_id=ids.event_id("window", encoded, aggregate["revision"]),
                source="/ticketflow/sla-windows",
                event_type="sla.window.closed",
                time=end,
                subject=key.department,
                data=summary,
            )
            outputs.append(
                Output(self.catalog.sla_windows, key.department.encode(), orjson.dumps(event), CLOUDEVENT_HEADERS)
            )
            aggregate["emitted_revision"] = aggregate["revision"]
            self._put(partition, encoded, aggregate, deferred)
        return outputs

    def current(self, department: str, size: str | None = None) -> list[dict]:
        """Retained windows of one department (open and closed), newest first."""
        now = self.clock()
        found = []
        for encoded in self.store.keys():
            if encoded.startswith(_APPLIED):
                continue
            key = windows.WindowKey.decode(encoded)
            if key.department != department or (size is not None and key.size != size):
                continue
            aggregate = self.store.get(encoded)
            if aggregate is None:
                continue
            summary = windows.summary(key, aggregate, self.zone)
            summary["closed"] = now >= summary["end"]
            summary["start"], summary["end"] = events.iso(summary["start"]), events.iso(summary["end"])
            found.append(summary)
        return sorted(
            found, key=lambda item: (item["start"], item["size"], item["channel"], item["priority"]), reverse=True
        )
