"""Rule-based bilingual classification: type, urgency, complaint grade, sentiment, aspects.

Rules live in a YAML file (streams/config/classification.yaml by default) that an operator
edits: terms with weights per class, negation cues, safety terms that force a grade-1
complaint. Every decision is explained in `reasons`, so a wrong department can be traced
back to the term that sent it there.

Pure: text and rules in, a `Classification` out. All terms are compiled into one regular
expression, so a request is scanned once whatever the number of rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from streams.models import REQUEST_TYPES, URGENCIES, Classification



def _keys_as_text(value: Any) -> Any:
    """YAML reads a bare number (e.g. the 12315 hotline) as an int; a term is always text."""
    return {str(key): weight for key, weight in value.items()} if isinstance(value, dict) else value


TermWeights = Annotated[dict[str, float], BeforeValidator(_keys_as_text)]

_URGENCY_RANK = {name: rank for rank, name in enumerate(reversed(URGENCIES))}  # low=0 … urgent=3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_terms(terms: TermWeights) -> TermWeights:
    cleaned: TermWeights = {}
    for term, weight in terms.items():
        if not str(term).strip():
            raise ValueError("a term is empty")
        if weight <= 0:
            raise ValueError(f"weight of {term!r} must be positive, got {weight}")
        cleaned[str(term).strip().lower()] = float(weight)
    return cleaned


class TypeRule(_Strict):
    terms: TermWeights
    default_urgency: Literal["urgent", "high", "normal", "low"] = "normal"

    @field_validator("terms")
    @classmethod
    def _terms_ok(cls, value: TermWeights) -> TermWeights:
        return _check_terms(value)


class NegationRules(_Strict):
    """Cues that, right before a term, cancel it ("不是投诉", "not a complaint")."""

    cues: list[str]
    fillers: list[str] = Field(default_factory=list)
    max_gap: int = Field(default=2, ge=0, le=10)


class SentimentRules(_Strict):
    negative: TermWeights
    positive: TermWeights
    angry: TermWeights

    @field_validator("negative", "positive", "angry")
    @classmethod
    def _terms_ok(cls, value: TermWeights) -> TermWeights:
        return _check_terms(value)


class ClassificationRules(_Strict):
    version: str = Field(min_length=1)
    types: dict[str, TypeRule]
    default_type: Literal["inquiry", "after_sales", "product_issue", "service_request", "complaint", "suggestion"]
    no_match_confidence: float = Field(default=0.3, ge=0, le=1)
    urgency: dict[Literal["urgent", "high", "low"], TermWeights]
    complaint_grades: dict[Literal[1, 2, 3], TermWeights]
    default_complaint_grade: Literal[1, 2, 3] = 3
    safety_terms: TermWeights = Field(
        description="Terms about personal safety or property loss: force a grade-1 complaint, urgent."
    )
    aspects: dict[str, TermWeights] = Field(default_factory=dict)
    sentiment: SentimentRules
    negation: NegationRules
    raise_urgency_for_segments: list[Literal["vip", "regular", "new", "churn_risk"]] = Field(default_factory=list)

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: dict[str, TypeRule]) -> dict[str, TypeRule]:
        unknown = sorted(set(value) - set(REQUEST_TYPES))
        if unknown:
            raise ValueError(f"unknown request type(s) {unknown}; known: {list(REQUEST_TYPES)}")
        return value

    @field_validator("urgency", "aspects", "complaint_grades")
    @classmethod
    def _terms_ok(cls, value: dict) -> dict:
        return {key: _check_terms(terms) for key, terms in value.items()}

    @field_validator("safety_terms")
    @classmethod
    def _safety_ok(cls, value: TermWeights) -> TermWeights:
        return _check_terms(value)

    @model_validator(mode="after")
    def _default_type_has_rule(self) -> "ClassificationRules":
        if self.default_type not in self.types:
            raise ValueError(f"default_type {self.default_type!r} has no entry under types")
        return self


@dataclass(frozen=True)
class _Hit:
    kind: str  # "type", "urgency", "grade", "safety", "aspect", "negative", "positive", "angry"
    label: str
    weight: float


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _whole_word(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is not glued to letters or digits on either side."""
    return (start == 0 or not _is_word_char(text[start - 1])) and (end == len(text) or not _is_word_char(text[end]))


class Classifier:
    """Compiled rules. Build once per rules file; `classify` is pure and thread-safe."""

    def __init__(self, rules: ClassificationRules) -> None:
        self.rules = rules
        hits: dict[str, list[_Hit]] = {}

        def add(term: str, hit: _Hit) -> None:
            hits.setdefault(term, []).append(hit)

        for type_name, rule in rules.types.items():
            for term, weight in rule.terms.items():
                add(term, _Hit("type", type_name, weight))
        for level, terms in rules.urgency.items():
            for term, weight in terms.items():
                add(term, _Hit("urgency", level, weight))
        for grade, terms in rules.complaint_grades.items():
            for term, weight in terms.items():
                add(term, _Hit("grade", str(grade), weight))
        for term, weight in rules.safety_terms.items():
            add(term, _Hit("safety", "1", weight))
        for aspect, terms in rules.aspects.items():
            for term, weight in terms.items():
                add(term, _Hit("aspect", aspect, weight))
        for polarity in ("negative", "positive", "angry"):
            for term, weight in getattr(rules.sentiment, polarity).items():
                add(term, _Hit(polarity, polarity, weight))
        self._hits = hits
        # Terms by first character, longest first, so "not working" wins over "not" at the
        # same position. One pass over the text looks only at terms that can start there.
        by_first: dict[str, list[str]] = {}
        for term in sorted(hits, key=len, reverse=True):
            by_first.setdefault(term[0], []).append(term)
        self._by_first = by_first
        self._negation_cues = tuple(cue.lower() for cue in rules.negation.cues)
        self._fillers = tuple(sorted((f.lower() for f in rules.negation.fillers), key=len, reverse=True))

    @cached_property
    def version(self) -> str:
        return self.rules.version

    def _matches(self, text: str) -> list[tuple[int, str]]:
        """Non-overlapping term matches, left to right, longest term first at each position.
        English (ASCII) terms must stand as whole words; Chinese terms match anywhere."""
        found: list[tuple[int, str]] = []
        by_first = self._by_first
        position, end = 0, len(text)
        while position < end:
            candidates = by_first.get(text[position])
            if candidates is not None:
                for term in candidates:
                    if text.startswith(term, position) and (
                        not term.isascii() or _whole_word(text, position, position + len(term))
                    ):
                        found.append((position, term))
                        position += len(term)
                        break
                else:
                    position += 1
                continue
            position += 1
        return found

    def _negated(self, text: str, start: int) -> bool:
        prefix = text[max(0, start - 16) : start].rstrip()
        for _ in range(self.rules.negation.max_gap):
            for filler in self._fillers:
                if prefix.endswith(filler):
                    prefix = prefix[: -len(filler)].rstrip()
                    break
            else:
                break
        for cue in self._negation_cues:
            if prefix.endswith(cue):
                # An English cue must start a word: "cannot" must not read as "not".
                before = prefix[: -len(cue)]
                if cue[0].isascii() and before and before[-1].isalnum():
                    continue
                return True
        return False

    def classify(self, text: str, subject: str | None = None, *, segment: str | None = None) -> Classification:
        rules = self.rules
        body = f"{subject}\n{text}" if subject else text
        lowered = body.lower()
        type_scores: dict[str, float] = {}
        urgency_scores: dict[str, float] = {}
        grade_scores: dict[str, float] = {}
        aspects: list[str] = []
        sentiment = {"negative": 0.0, "positive": 0.0, "angry": 0.0}
        safety_terms: list[str] = []
        reasons: list[str] = []
        negated: list[str] = []

        for start, term in self._matches(lowered):
            if self._negated(lowered, start):
                negated.append(term)
                continue
            for hit in self._hits[term]:
                if hit.kind == "type":
                    type_scores[hit.label] = type_scores.get(hit.label, 0.0) + hit.weight
                    reasons.append(f"type:{hit.label}+{hit.weight:g} «{term}»")
                elif hit.kind == "urgency":
                    urgency_scores[hit.label] = urgency_scores.get(hit.label, 0.0) + hit.weight
                    reasons.append(f"urgency:{hit.label} «{term}»")
                elif hit.kind == "grade":
                    grade_scores[hit.label] = grade_scores.get(hit.label, 0.0) + hit.weight
                elif hit.kind == "safety":
                    safety_terms.append(term)
                elif hit.kind == "aspect":
                    if hit.label not in aspects:
                        aspects.append(hit.label)
                else:
                    sentiment[hit.kind] += hit.weight
                    reasons.append(f"sentiment:{hit.kind} «{term}»")
        for term in negated:
            reasons.append(f"negated «{term}»")

        # Type: the best score wins; confidence grows with the margin over the runner-up.
        if safety_terms:
            request_type = "complaint"
            confidence = 0.95
            reasons.append(f"safety «{safety_terms[0]}» forces a grade-1 complaint")
        elif type_scores:
            ranked = sorted(type_scores.items(), key=lambda item: (-item[1], REQUEST_TYPES.index(item[0])))
            request_type, best = ranked[0]
            runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
            confidence = round(0.5 + 0.5 * (best - runner_up) / (best + 1.0), 3)
        else:
            request_type = rules.default_type
            confidence = rules.no_match_confidence
            reasons.append(f"no type rule matched; default {request_type}")

        # Complaint grade (seed 002): safety → 1; otherwise the best-scoring grade, else the default.
        complaint_grade: int | None = None
        if request_type == "complaint":
            if safety_terms:
                complaint_grade = 1
            elif grade_scores:
                complaint_grade = int(min(grade_scores, key=lambda g: (-grade_scores[g], int(g))))
                reasons.append(f"grade:{complaint_grade}")
            else:
                complaint_grade = rules.default_complaint_grade
                reasons.append(f"grade:{complaint_grade} (default)")
            if safety_terms and "safety" not in aspects:
                aspects.append("safety")

        # Urgency: the type's default, raised by urgency terms, lowered only by explicit low terms.
        urgency = rules.types[request_type].default_urgency
        if urgency_scores:
            strongest = max(urgency_scores, key=lambda level: (_URGENCY_RANK[level], urgency_scores[level]))
            if strongest == "low":
                if urgency in ("normal", "low") and not {"urgent", "high"} & set(urgency_scores):
                    urgency = "low"
            elif _URGENCY_RANK[strongest] > _URGENCY_RANK[urgency]:
                urgency = strongest
        if complaint_grade == 1:
            urgency = "urgent"

        negative, positive, angry_score = sentiment["negative"], sentiment["positive"], sentiment["angry"]
        angry = angry_score >= 2 or "!!!" in body or "！！" in body
        if angry or negative > positive:
            polarity = "negative"
        elif positive > negative:
            polarity = "positive"
        else:
            polarity = "neutral"
        if angry and _URGENCY_RANK[urgency] < _URGENCY_RANK["high"]:
            urgency = "high"
            reasons.append("angry customer raises urgency to high")

        segment = segment or "regular"
        if segment in rules.raise_urgency_for_segments and urgency in ("normal", "low"):
            urgency = "high" if urgency == "normal" else "normal"
            reasons.append(f"segment {segment} raises urgency to {urgency}")

        return Classification(
            type=request_type,
            urgency=urgency,
            complaint_grade=complaint_grade,
            sentiment=polarity,
            angry=angry,
            aspects=aspects,
            segment=segment,
            confidence=confidence,
            reasons=reasons,
            model_version=rules.version,
        )
