"""Classification cost per request: microseconds (p50, p99) and requests/s on one core.

The classifier the worker runs (rules + trained model, loaded once) classifies every request of
the hand-written test set and of the demo traffic templates, `BENCH_CLASSIFY_ROUNDS` times
(default 20) after a warm-up round, one request at a time, in this process pinned to one CPU
when the platform allows. Each call is timed with perf_counter_ns and covers everything the
classify stage does per request besides JSON decoding: normalization, segmentation, rules,
both models, and building the `Classification`.

`python -m bench.classification` runs it alone; `make bench` runs it before the pipeline phases.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from dataclasses import asdict, dataclass

from streams.settings import Settings
from streams.simulator import TEMPLATES
from streams.training.datasets import default_data_dir
from streams.training.evaluate import load_labelled


@dataclass
class ClassificationCost:
    requests: int
    rounds: int
    p50_us: float
    p99_us: float
    max_us: float
    mean_us: float
    requests_per_second: float
    pinned_cpu: int | None
    classifier_version: str


def bench_texts() -> list[str]:
    # The first development file (requests of chat and ticket length, as before, so runs compare).
    texts = [case["text"] for case in load_labelled(default_data_dir() / "testset" / "requests.jsonl")]
    filled = {"order": "A1029384", "product": "蓝牙耳机", "amount": "99", "hours": "3"}
    texts += [template.format(**filled) for _, _, template in TEMPLATES]
    return texts


def _pin_to_one_cpu() -> tuple[int | None, set[int] | None]:
    if not hasattr(os, "sched_setaffinity"):
        return None, None
    previous = os.sched_getaffinity(0)
    cpu = max(previous)
    os.sched_setaffinity(0, {cpu})
    return cpu, previous


def measure(rounds: int | None = None) -> ClassificationCost:
    rounds = rounds or int(os.environ.get("BENCH_CLASSIFY_ROUNDS", "20"))
    classifier = Settings().classifier
    texts = bench_texts()
    cpu, previous = _pin_to_one_cpu()
    try:
        for text in texts:  # warm-up: first-use initialisation of the converter and segmenter
            classifier.classify(text)
        timings: list[int] = []
        gc.collect()
        started = time.perf_counter_ns()
        for _ in range(rounds):
            for text in texts:
                begin = time.perf_counter_ns()
                classifier.classify(text)
                timings.append(time.perf_counter_ns() - begin)
        elapsed = time.perf_counter_ns() - started
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)
    timings.sort()
    return ClassificationCost(
        requests=len(texts),
        rounds=rounds,
        p50_us=round(statistics.median(timings) / 1000, 1),
        p99_us=round(timings[min(len(timings) - 1, int(len(timings) * 0.99))] / 1000, 1),
        max_us=round(timings[-1] / 1000, 1),
        mean_us=round(statistics.fmean(timings) / 1000, 1),
        requests_per_second=round(len(timings) / (elapsed / 1e9), 0),
        pinned_cpu=cpu,
        classifier_version=classifier.version,
    )


def render(cost: ClassificationCost) -> str:
    where = f"pinned to CPU {cost.pinned_cpu}" if cost.pinned_cpu is not None else "one thread"
    return (
        f"classification ({cost.requests} requests × {cost.rounds} rounds, {where}, {cost.classifier_version}): "
        f"p50 {cost.p50_us:.0f} µs, p99 {cost.p99_us:.0f} µs, max {cost.max_us:.0f} µs, "
        f"{cost.requests_per_second:,.0f} requests/s"
    )


def main() -> None:
    cost = measure()
    print(render(cost))
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/classification.json", "w", encoding="utf-8") as handle:
        json.dump(asdict(cost), handle, indent=2)
    print("written to bench-results/classification.json")


if __name__ == "__main__":
    main()
