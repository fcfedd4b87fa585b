"""The stage code alone, in one process, on the in-memory stores (streams/testing.py): no faust,
no broker. Requests/s and µs per request for normalize + classify + lifecycle, as the
pipeline's ceiling (docs/benchmarks.md). `python -m bench.stages [--profile]`."""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from dataclasses import asdict, dataclass

from bench.common import build_requests
from streams.catalog import TopicCatalog
from streams.settings import Settings
from streams.stages.classify import ClassifyStage
from streams.stages.lifecycle import LifecycleStage
from streams.stages.normalize import NormalizeStage
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.testing import MemoryCustomerStore, MemoryTicketStore


@dataclass
class StageCost:
    requests: int
    requests_per_second: float
    us_per_request: float
    normalize_us: float
    classify_us: float
    lifecycle_us: float


def build_stages(settings: Settings):  # noqa: ANN201
    catalog = TopicCatalog("")
    index, counts = DeadlineIndex(), OpenTickets()
    index.assign(range(settings.partitions))
    counts.assign(range(settings.partitions))
    normalize = NormalizeStage(catalog)
    classify = ClassifyStage(catalog, settings.classifier, MemoryCustomerStore())
    lifecycle = LifecycleStage(
        catalog,
        routing=settings.routing,
        policies=settings.policies,
        store=MemoryTicketStore(),
        index=index,
        open_tickets=counts,
        facts_topic="facts",
    )
    return normalize, classify, lifecycle


def measure(count: int = 3000, profile: bool = False) -> StageCost:
    settings = Settings()
    settings.load_operator_files()
    normalize, classify, lifecycle = build_stages(settings)
    records = build_requests(count, f"stages-{time.time_ns()}")
    spent = {"normalize": 0.0, "classify": 0.0, "lifecycle": 0.0}
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    for channel, _, raw in records:
        t0 = time.perf_counter()
        normalized = normalize.process(raw, channel)
        t1 = time.perf_counter()
        classified = classify.process(normalized[0].value)
        t2 = time.perf_counter()
        lifecycle.on_classified(classified[0].value, 0)
        t3 = time.perf_counter()
        spent["normalize"] += t1 - t0
        spent["classify"] += t2 - t1
        spent["lifecycle"] += t3 - t2
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return StageCost(
        requests=count,
        requests_per_second=round(count / elapsed, 1),
        us_per_request=round(elapsed / count * 1e6, 1),
        **{f"{name}_us": round(seconds / count * 1e6, 1) for name, seconds in spent.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    print(asdict(measure(options.requests, options.profile)))


if __name__ == "__main__":
    main()
