"""The statistical layer at run time: the trained linear models applied to a request's features.

The artefact (JSON, built by `ticketflow train`; `make` builds it) holds plain weights per
feature, so a prediction is a few dictionary look-ups and additions: no scikit-learn and no
numpy on the hot path. The score of class c is `bias[c] + sum(weight[f][c] for f in known
features) / sqrt(number of features)`, exactly what the training fitted.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

ARTEFACT_NAME = "classifier-model.json"
SUPPORTED_FORMAT = 1


class ModelArtefactError(ValueError):
    """The model artefact is missing or unreadable."""


def default_artefact_path() -> Path:
    return Path(str(resources.files("streams.artefacts").joinpath(ARTEFACT_NAME)))


def _display(feature: str) -> str:
    """'w:退款' → '退款', 'b:not working' → 'not working', 'c:退款' → '退款'."""
    kind, _, value = feature.partition(":")
    return value.replace("<s> ", "^") if kind in ("w", "b", "c", "c1", "c3") else feature


@dataclass(frozen=True)
class TypePrediction:
    probabilities: dict[str, float]
    classes: tuple[str, ...]
    known: list[tuple[str, tuple[float, ...]]]  # the text's known features, weights centred on the class mean
    scale: float

    def evidence(self, type_name: str, top: int = 3) -> list[tuple[str, float]]:
        """The features that pushed most towards `type_name` (contribution relative to the class mean)."""
        index = self.classes.index(type_name)
        ranked = heapq.nlargest(top * 2, self.known, key=lambda item: item[1][index])
        shown: dict[str, float] = {}
        for feature, centred in ranked:
            value = centred[index] * self.scale
            if value <= 0 or len(shown) == top:
                break
            shown.setdefault(_display(feature), value)  # a word and its character bigram read the same
        return list(shown.items())


@dataclass(frozen=True)
class SentimentPrediction:
    logit: float  # log-odds of positive
    top_features: list[tuple[str, float]]  # strongest contributions either way

    @property
    def positive(self) -> float:
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, self.logit))))


class TextModel:
    """The two trained models (type, sentiment), loaded once; `predict_*` are pure and thread-safe."""

    def __init__(self, document: dict) -> None:
        if document.get("format") != SUPPORTED_FORMAT:
            raise ModelArtefactError(f"artefact format {document.get('format')!r}, expected {SUPPORTED_FORMAT}")
        self.version: str = document["version"]
        self.created_at: str = document.get("created_at", "")
        type_part = document["type"]
        self.type_classes: tuple[str, ...] = tuple(type_part["classes"])
        self._type_bias: tuple[float, ...] = tuple(type_part["bias"])
        self._type_weights: dict[str, tuple[float, ...]] = {k: tuple(v) for k, v in type_part["weights"].items()}
        # Calibration fitted on held-back training rows: scores are divided by the temperature of
        # the request's language (Chinese training data is scarcer, so its scores need sharpening).
        self._temperature: dict[str, float] = dict(type_part.get("temperature") or {})
        self._type_centred: dict[str, tuple[float, ...]] = {
            k: tuple(w - sum(v) / len(v) for w in v) for k, v in self._type_weights.items()
        }
        sentiment_part = document["sentiment"]
        self._sentiment_bias: float = float(sentiment_part["bias"])
        self._sentiment_weights: dict[str, float] = sentiment_part["weights"]
        harm_part = document.get("harm")  # artefacts before the harm model have none
        self._harm_bias: float | None = float(harm_part["bias"]) if harm_part else None
        self._harm_weights: dict[str, float] = harm_part["weights"] if harm_part else {}
        grade_part = document.get("grade")  # the grade and urgency layers (docs/classification.md)
        self.grade_classes: tuple[str, ...] = tuple(grade_part["classes"]) if grade_part else ()
        self._grade_bias: tuple[float, ...] = tuple(grade_part["bias"]) if grade_part else ()
        self._grade_weights: dict[str, list[float]] = grade_part["weights"] if grade_part else {}
        urgent_part = document.get("urgent")
        self._urgent_bias: float | None = float(urgent_part["bias"]) if urgent_part else None
        self._urgent_weights: dict[str, float] = urgent_part["weights"] if urgent_part else {}

    @classmethod
    def load(cls, path: str | Path) -> TextModel:
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelArtefactError(
                f"{path}: model artefact not found; build it with `make model` or `ticketflow train`"
            ) from None
        except (OSError, ValueError) as exc:
            raise ModelArtefactError(f"{path}: cannot read the model artefact: {exc}") from None
        try:
            return cls(document)
        except (KeyError, TypeError) as exc:
            raise ModelArtefactError(f"{path}: not a model artefact (missing {exc})") from None

    def type_scores(self, features: list[str]) -> tuple[list[float], list[tuple[str, tuple[float, ...]]], float]:
        """Uncalibrated class scores, the known features (centred weights) and the feature scale."""
        weights, centred = self._type_weights, self._type_centred
        known = [(name, centred[name]) for name in features if name in weights]
        scale = 1.0 / math.sqrt(max(len(features), 1))
        if known:
            totals = map(sum, zip(*(weights[name] for name, _ in known)))
            scores = [bias + total * scale for bias, total in zip(self._type_bias, totals)]
        else:
            scores = list(self._type_bias)
        return scores, known, scale

    def temperature(self, features: list[str]) -> float:
        language = "en" if "lang:en" in features else "zh"
        return self._temperature.get(language, 1.0)

    def predict_type(self, features: list[str]) -> TypePrediction:
        scores, known, scale = self.type_scores(features)
        temperature = self.temperature(features)
        peak = max(scores)
        exps = [math.exp((score - peak) / temperature) for score in scores]
        norm = sum(exps)
        probabilities = {name: value / norm for name, value in zip(self.type_classes, exps)}
        return TypePrediction(probabilities, self.type_classes, known, scale)

    def predict_sentiment(self, features: list[str], top: int = 3) -> SentimentPrediction:
        weights = self._sentiment_weights
        known = [(name, weights[name]) for name in features if name in weights]
        scale = 1.0 / math.sqrt(max(len(features), 1))
        logit = self._sentiment_bias + sum(weight for _, weight in known) * scale
        shown: dict[str, float] = {}
        for name, weight in heapq.nlargest(top * 3, known, key=lambda item: abs(item[1])):
            if len(shown) == top:
                break
            shown.setdefault(_display(name), weight * scale)
        return SentimentPrediction(logit, list(shown.items()))

    def predict_harm(self, features: list[str]) -> float | None:
        """Probability that a person was harmed or endangered, or property taken (None without a harm model)."""
        if self._harm_bias is None:
            return None
        weights = self._harm_weights
        scale = 1.0 / math.sqrt(max(len(features), 1))
        logit = self._harm_bias + sum(weights[name] for name in features if name in weights) * scale
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))

    def predict_grade(self, features: list[str]) -> dict[str, float] | None:
        """Probability of each complaint grade ('1', '2', '3'), None without a grade model."""
        if not self._grade_bias:
            return None
        weights = self._grade_weights
        known = [weights[name] for name in features if name in weights]
        scale = 1.0 / math.sqrt(max(len(features), 1))
        totals = map(sum, zip(*known)) if known else (0.0 for _ in self._grade_bias)
        scores = [bias + total * scale for bias, total in zip(self._grade_bias, totals)]
        peak = max(scores)
        exps = [math.exp(score - peak) for score in scores]
        norm = sum(exps)
        return {name: value / norm for name, value in zip(self.grade_classes, exps)}

    def predict_urgent(self, features: list[str]) -> float | None:
        """Probability that the request is urgent (docs/labels.md), None without an urgency model."""
        if self._urgent_bias is None:
            return None
        weights = self._urgent_weights
        scale = 1.0 / math.sqrt(max(len(features), 1))
        logit = self._urgent_bias + sum(weights[name] for name in features if name in weights) * scale
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))
