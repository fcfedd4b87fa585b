"""The operator's classification rules (streams/config/classification.yaml), validated.

docs/classification.md says what each part decides; errors name the offending term or group.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from streams.domain import text as textprep
from streams.models import REQUEST_TYPES, URGENCIES


def _keys_as_text(value: Any) -> Any:
    """YAML reads a bare number (e.g. the 12315 hotline) as an int; a term is always text."""
    return {str(key): weight for key, weight in value.items()} if isinstance(value, dict) else value


TermWeights = Annotated[dict[str, float], BeforeValidator(_keys_as_text)]

RequestTypeName = Literal["inquiry", "after_sales", "product_issue", "service_request", "complaint", "suggestion"]
URGENCY_RANK = {name: rank for rank, name in enumerate(reversed(URGENCIES))}  # low=0 … urgent=3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_terms(terms: TermWeights) -> TermWeights:
    cleaned: TermWeights = {}
    for term, weight in terms.items():
        if not str(term).strip():
            raise ValueError("a term is empty")
        if weight <= 0:
            raise ValueError(f"weight of {term!r} must be positive, got {weight}")
        cleaned[textprep.normalize(str(term).strip())] = float(weight)
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


class DecisionRules(_Strict):
    """When the rules decide the type, and how much their evidence weighs when the model does."""

    certain_score: float = Field(default=4.0, gt=0, description="Rule score from which the rules decide the type.")
    certain_margin: float = Field(default=2.0, ge=0, description="... if ahead of the next type by at least this.")
    rule_weight: float = Field(default=0.3, ge=0, description="Log-odds added to the model per rule point.")
    # Sentiment: model log-odds + sentiment_rule_weight × (positive − negative − angry rule points);
    # within ±neutral_band[type] of even the request is neutral. Questions and service requests
    # carry little opinion, so their band is wide; a complaint is negative unless clearly positive.
    sentiment_rule_weight: float = Field(default=0.25, ge=0)
    # The trained harm model (grade 1, docs/labels.md) decides like a safety term from this probability.
    harm_threshold: float = Field(default=0.5, gt=0, le=1)
    # … and from this one when a concept present says otherwise (money lost: grade 2).
    harm_threshold_over_concept: float = Field(default=0.8, gt=0, le=1)
    # The grade layer: a complaint's grade is the best of the grade model's log-probability plus
    # this much per grade-term point (docs/classification.md, "The learned layers").
    grade_rule_weight: float = Field(default=0.5, ge=0)
    # The urgency layer raises a request to urgent from this probability (1 turns it off).
    urgent_threshold: float = Field(default=0.7, gt=0, le=1)
    neutral_band: dict[RequestTypeName, float] = Field(
        default_factory=lambda: {
            "inquiry": 3.0,
            "service_request": 3.0,
            "after_sales": 1.5,
            "product_issue": 1.5,
            "complaint": 0.0,
            "suggestion": 1.0,
        }
    )

    @field_validator("neutral_band")
    @classmethod
    def _bands_positive(cls, value: dict[str, float]) -> dict[str, float]:
        for name, band in value.items():
            if band < 0:
                raise ValueError(f"neutral band of {name} must be ≥ 0, got {band}")
        return value


class ConceptMeaning(_Strict):
    """What a concept's presence means: a type it forces, a grade (the more severe of it and the
    grade terms' wins), an urgency it raises to."""

    type: RequestTypeName | None = None
    complaint_grade: Literal[1, 2, 3] | None = None
    urgency: Literal["urgent", "high"] | None = None


class Concept(_Strict):
    """A concept (harm, an outage, money lost) recognised by its cues in many surface forms
    (docs/classification.md, "Concepts"). It is present when every group in `all_of` has a cue
    and, when `any_of` is given, one of those groups has one too (without `all_of` / `any_of`:
    any cue). `type_evidence` adds rule points to types, as type terms do."""

    means: ConceptMeaning = Field(default_factory=ConceptMeaning)
    type_evidence: dict[RequestTypeName, float] = Field(default_factory=dict)
    all_of: list[str] = Field(default_factory=list)
    any_of: list[str] = Field(default_factory=list)
    # Concepts whose meaning this one sets aside when present ("harm" also sets aside the safety
    # terms): a question about what a policy covers if someone is hurt reports no harm.
    sets_aside: list[str] = Field(default_factory=list)
    cues: dict[str, list[str]]

    @field_validator("cues")
    @classmethod
    def _cues_ok(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned = {}
        for group, terms in value.items():
            if not terms:
                raise ValueError(f"cue group {group!r} is empty")
            cleaned[group] = list(_check_terms({str(term): 1.0 for term in terms}))
        return cleaned

    @model_validator(mode="after")
    def _groups_exist(self) -> Concept:
        unknown = sorted((set(self.all_of) | set(self.any_of)) - set(self.cues))
        if unknown:
            raise ValueError(f"all_of/any_of name cue groups that do not exist: {unknown}")
        return self

    def present(self, groups: set[str]) -> bool:
        if not groups or not set(self.all_of) <= groups:
            return False
        return not self.any_of or bool(set(self.any_of) & groups)


class ClassificationRules(_Strict):
    version: str = Field(min_length=1)
    decision: DecisionRules = Field(default_factory=DecisionRules)
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
    concepts: dict[str, Concept] = Field(default_factory=dict)
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
    def _default_type_has_rule(self) -> ClassificationRules:
        if self.default_type not in self.types:
            raise ValueError(f"default_type {self.default_type!r} has no entry under types")
        return self
