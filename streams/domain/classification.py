"""Bilingual classification in two layers: editable rules, then a trained model.

Type, urgency, complaint grade (seed 002), sentiment with an "angry" flag, aspects, a
confidence and the reasons.

1. Rules live in a YAML file (streams/config/classification.yaml by default) that an operator
   edits: terms with weights per class, negation cues ("不是投诉", "not a complaint"), safety
   terms that force an urgent grade-1 complaint. Where they are certain they decide: a safety
   term, or a type whose rule score reaches `decision.certain_score` with a clear margin.
2. Otherwise the trained model (streams.domain.model) decides the type; rule scores that did
   not reach certainty still count as evidence (`decision.rule_weight` per point on the
   model's log-odds), and a negated type is ruled out. Sentiment is the model's log-odds plus
   the rule terms; close to even it is neutral.

Every decision is explained in `reasons` (which layer decided, the rule terms that matched,
the model's probability and its top features), and `model_version` names both the rules
version and the trained weights, so a wrong department can be traced back.

Text is normalized first (full width → ASCII, traditional → simplified Chinese, lower case;
streams.domain.text), so rules written in simplified characters match traditional requests.
Pure: text and rules in, a `Classification` out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from streams.domain import text as textprep
from streams.domain.model import TextModel
from streams.models import REQUEST_TYPES, URGENCIES, Classification


def _keys_as_text(value: Any) -> Any:
    """YAML reads a bare number (e.g. the 12315 hotline) as an int; a term is always text."""
    return {str(key): weight for key, weight in value.items()} if isinstance(value, dict) else value


TermWeights = Annotated[dict[str, float], BeforeValidator(_keys_as_text)]

RequestTypeName = Literal["inquiry", "after_sales", "product_issue", "service_request", "complaint", "suggestion"]
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
    # The trained harm model (seed 002 grade 1) decides like a safety term from this probability.
    harm_threshold: float = Field(default=0.5, gt=0, le=1)
    # … and from this one when a concept present says otherwise (money lost: grade 2).
    harm_threshold_over_concept: float = Field(default=0.8, gt=0, le=1)
    neutral_band: dict[RequestTypeName, float] = Field(
        default_factory=lambda: {"inquiry": 3.0, "service_request": 3.0, "after_sales": 1.5, "product_issue": 1.5,
                                 "complaint": 0.0, "suggestion": 1.0}  # fmt: skip
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
    def _groups_exist(self) -> "Concept":
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


@dataclass
class _Scan:
    """What the rules found in one normalized text."""

    type_scores: dict[str, float] = field(default_factory=dict)
    negated_types: set[str] = field(default_factory=set)
    urgency_scores: dict[str, float] = field(default_factory=dict)
    grade_scores: dict[str, float] = field(default_factory=dict)
    aspects: list[str] = field(default_factory=list)
    sentiment: dict[str, float] = field(default_factory=lambda: {"negative": 0.0, "positive": 0.0, "angry": 0.0})
    safety_terms: list[str] = field(default_factory=list)
    concept_cues: dict[str, dict[str, str]] = field(default_factory=dict)  # concept → group → first cue
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """A classification with what led to it (used by `ticketflow eval` and the tests)."""

    classification: Classification
    decided_by: Literal["safety", "rules", "model", "default"]
    type_probabilities: dict[str, float]  # the model's, before rule evidence (empty without a model)
    sentiment_logit: float | None  # model + rules log-odds of positive (None without a model)

    @property
    def polarity(self) -> str:
        """Positive or negative, never neutral: what a two-class sentiment data set measures."""
        if self.classification.angry:
            return "negative"
        if self.sentiment_logit is None:
            return "positive" if self.classification.sentiment == "positive" else "negative"
        return "positive" if self.sentiment_logit > 0 else "negative"


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    peak = max(scores.values())
    exps = {name: math.exp(score - peak) for name, score in scores.items()}
    total = sum(exps.values())
    return {name: value / total for name, value in exps.items()}


class Classifier:
    """Compiled rules plus the trained model (optional: without one, the rules decide alone).

    Build once at start-up; `classify` is pure and thread-safe.
    """

    def __init__(self, rules: ClassificationRules, model: TextModel | None = None) -> None:
        self.rules = rules
        self.model = model
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
        for concept_name, concept in rules.concepts.items():
            for group, terms in concept.cues.items():
                for term in terms:
                    add(term, _Hit("concept", f"{concept_name}/{group}", 1.0))
        self._hits = hits
        # Terms by their first two characters (one-character terms apart), longest first, so
        # "not working" wins over "not" at the same position. One pass over the text looks only
        # at the few terms that can start at each position.
        by_prefix: dict[str, list[str]] = {}
        single: dict[str, str] = {}
        for term in sorted(hits, key=len, reverse=True):
            if len(term) == 1:
                single[term] = term
            else:
                by_prefix.setdefault(term[:2], []).append(term)
        self._by_prefix = by_prefix
        self._single = single
        # What the harm model's "yes" means: the harm concept's meaning, or a grade-1 complaint.
        self._harm_concept = rules.concepts.get("harm") or Concept(
            means=ConceptMeaning(type="complaint", complaint_grade=1, urgency="urgent"), cues={"model": ["-"]})
        self._negation_cues = tuple(textprep.normalize(cue) for cue in rules.negation.cues)
        self._fillers = tuple(sorted((textprep.normalize(f) for f in rules.negation.fillers), key=len, reverse=True))
        if model is not None:
            self.decide("預熱 warm-up")  # load the converter and the segmenter now, not on the first request

    @cached_property
    def version(self) -> str:
        """Rules version, plus the trained weights' version when there is a model."""
        return f"{self.rules.version}+{self.model.version}" if self.model else self.rules.version

    def _matches(self, text: str) -> list[tuple[int, str]]:
        """Non-overlapping term matches, left to right, longest term first at each position.
        English (ASCII) terms must stand as whole words; Chinese terms match anywhere."""
        found: list[tuple[int, str]] = []
        by_prefix, single = self._by_prefix, self._single
        position, end = 0, len(text)
        while position < end:
            char = text[position]
            if char.isascii() and char.isalnum() and position and _is_word_char(text[position - 1]):
                position += 1  # inside an English word: no English term can start here
                continue
            matched = None
            for term in by_prefix.get(text[position : position + 2], ()):
                if text.startswith(term, position) and (
                    not term.isascii() or _whole_word(text, position, position + len(term))
                ):
                    matched = term
                    break
            if matched is None and char in single and (not char.isascii() or _whole_word(text, position, position + 1)):
                matched = char
            if matched is not None:
                found.append((position, matched))
                position += len(matched)
            else:
                position += 1
        return found

    def _negated(self, text: str, start: int) -> bool:
        """True when a negation cue ends right before `start`, possibly across up to max_gap fillers
        ("不是投诉", "不是要投诉", "not a complaint"). Cues are tried before each filler is dropped,
        so a cue that ends in a filler word ("no need to", "不需要") still counts."""
        prefix = text[max(0, start - 16) : start].rstrip()
        for _ in range(self.rules.negation.max_gap + 1):
            if self._ends_with_cue(prefix):
                return True
            for filler in self._fillers:
                if prefix.endswith(filler):
                    prefix = prefix[: -len(filler)].rstrip()
                    break
            else:
                return False
        return False

    def _ends_with_cue(self, prefix: str) -> bool:
        for cue in self._negation_cues:
            if prefix.endswith(cue):
                # An English cue must start a word: "cannot" must not read as "not".
                before = prefix[: -len(cue)]
                if cue[0].isascii() and before and before[-1].isalnum():
                    continue
                return True
        return False

    def _scan(self, normalized: str) -> _Scan:
        scan = _Scan()
        negated: list[str] = []
        for start, term in self._matches(normalized):
            if self._negated(normalized, start):
                negated.append(term)
                scan.negated_types.update(hit.label for hit in self._hits[term] if hit.kind == "type")
                continue
            for hit in self._hits[term]:
                if hit.kind == "type":
                    scan.type_scores[hit.label] = scan.type_scores.get(hit.label, 0.0) + hit.weight
                    scan.reasons.append(f"type:{hit.label}+{hit.weight:g} «{term}»")
                elif hit.kind == "urgency":
                    scan.urgency_scores[hit.label] = scan.urgency_scores.get(hit.label, 0.0) + hit.weight
                    scan.reasons.append(f"urgency:{hit.label} «{term}»")
                elif hit.kind == "grade":
                    scan.grade_scores[hit.label] = scan.grade_scores.get(hit.label, 0.0) + hit.weight
                elif hit.kind == "safety":
                    scan.safety_terms.append(term)
                elif hit.kind == "aspect":
                    if hit.label not in scan.aspects:
                        scan.aspects.append(hit.label)
                elif hit.kind == "concept":
                    concept_name, group = hit.label.split("/", 1)
                    scan.concept_cues.setdefault(concept_name, {}).setdefault(group, term)
                else:
                    scan.sentiment[hit.kind] += hit.weight
                    scan.reasons.append(f"sentiment:{hit.kind} «{term}»")
        for term in negated:
            scan.reasons.append(f"negated «{term}»")
        return scan

    def _concepts(self, scan: _Scan) -> list[tuple[str, Concept]]:
        """The concepts present, each with its type evidence added to the scan and its cues named
        in the reasons."""
        present = []
        for name, concept in self.rules.concepts.items():
            groups = scan.concept_cues.get(name, {})
            if not concept.present(set(groups)):
                continue
            present.append((name, concept))
            cues = ", ".join(f"{group} «{cue}»" for group, cue in groups.items())
            scan.reasons.append(f"concept {name}: {cues}")
            for type_name, weight in concept.type_evidence.items():
                scan.type_scores[type_name] = scan.type_scores.get(type_name, 0.0) + weight
        return present

    def _certain_type(self, scan: _Scan) -> tuple[str, float, float] | None:
        """(type, score, margin) when the rules alone are certain of the type."""
        if not scan.type_scores:
            return None
        ranked = sorted(scan.type_scores.items(), key=lambda item: (-item[1], REQUEST_TYPES.index(item[0])))
        best_type, best = ranked[0]
        margin = best - (ranked[1][1] if len(ranked) > 1 else 0.0)
        decision = self.rules.decision
        if best >= decision.certain_score and margin >= decision.certain_margin:
            return best_type, best, margin
        return None

    def classify(self, text: str, subject: str | None = None, *, segment: str | None = None) -> Classification:
        return self.decide(text, subject, segment=segment).classification

    def decide(self, text: str, subject: str | None = None, *, segment: str | None = None) -> Decision:
        rules = self.rules
        body = f"{subject}\n{text}" if subject else text
        normalized = textprep.normalize(body)
        scan = self._scan(normalized)
        concepts = self._concepts(scan)
        forced = next(((name, concept) for name, concept in concepts if concept.means.type), None)
        reasons = scan.reasons
        features = textprep.features(normalized) if self.model else []
        prediction = self.model.predict_type(features) if self.model else None
        harm = self.model.predict_harm(features) if self.model else None
        # Against other evidence — a concept giving another grade, or a type model sure it is no
        # complaint — the harm model needs more confidence.
        other_grade = any(c.means.complaint_grade not in (None, 1) for _, c in concepts)
        sure_not_complaint = prediction is not None and prediction.probabilities.get("complaint", 1.0) < 0.05
        threshold = (rules.decision.harm_threshold_over_concept if other_grade or sure_not_complaint
                     else rules.decision.harm_threshold)  # fmt: skip
        if forced is None and harm is not None and harm >= threshold:
            forced = ("harm", self._harm_concept)
            scan.reasons.append(f"harm model {harm:.2f}: a person harmed or endangered, or property taken")

        # -- type: safety, then certain rules, then the model (with rule evidence), else rules alone.
        certain = self._certain_type(scan)
        decided_by: Literal["safety", "rules", "model", "default"]
        if scan.safety_terms:
            request_type, confidence, decided_by = "complaint", 0.95, "safety"
            reasons.append(f"safety or property loss «{scan.safety_terms[0]}» forces a grade-1 complaint")
        elif forced is not None:
            request_type, confidence, decided_by = forced[1].means.type, 0.9, "safety"
            reasons.append(f"concept {forced[0]} makes it a {request_type}")
        elif certain is not None:
            request_type, best, margin = certain
            confidence = round(0.5 + 0.5 * margin / (best + 1.0), 3)
            decided_by = "rules"
            reasons.append(f"decided by rules: {request_type} score {best:g}, margin {margin:g}")
        elif prediction is not None:
            weight = rules.decision.rule_weight
            excluded = {name for name in scan.negated_types if not scan.type_scores.get(name)}
            combined = {
                name: math.log(max(probability, 1e-12)) + weight * scan.type_scores.get(name, 0.0)
                for name, probability in prediction.probabilities.items()
                if name not in excluded
            } or {name: math.log(max(p, 1e-12)) for name, p in prediction.probabilities.items()}
            posterior = _softmax(combined)
            request_type = max(posterior, key=lambda name: (posterior[name], -REQUEST_TYPES.index(name)))
            confidence = round(posterior[request_type], 3)
            decided_by = "model"
            evidence = ", ".join(f"«{name}» {value:+.2f}" for name, value in prediction.evidence(request_type))
            note = " with rule evidence" if scan.type_scores.get(request_type) else ""
            ruled_out = f"; ruled out by negation: {', '.join(sorted(excluded))}" if excluded else ""
            reasons.append(f"decided by model{note}: {request_type} {confidence:.2f} "
                           f"(model alone {prediction.probabilities[request_type]:.2f}; {evidence or 'no strong feature'})"
                           f"{ruled_out}")  # fmt: skip
        elif scan.type_scores:
            ranked = sorted(scan.type_scores.items(), key=lambda item: (-item[1], REQUEST_TYPES.index(item[0])))
            request_type, best = ranked[0]
            runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
            confidence = round(0.5 + 0.5 * (best - runner_up) / (best + 1.0), 3)
            decided_by = "rules"
        else:
            request_type = rules.default_type
            confidence = rules.no_match_confidence
            decided_by = "default"
            reasons.append(f"no type rule matched; default {request_type}")
        if prediction is not None and decided_by in ("safety", "rules"):
            reasons.append(f"model: {request_type} {prediction.probabilities.get(request_type, 0.0):.2f}")

        # -- complaint grade (seed 002): safety → 1; otherwise the best-scoring grade, else the default.
        aspects = scan.aspects
        complaint_grade: int | None = None
        if request_type == "complaint":
            if scan.safety_terms:
                complaint_grade = 1
            elif scan.grade_scores:
                grades = scan.grade_scores
                complaint_grade = int(min(grades, key=lambda g: (-grades[g], int(g))))
                reasons.append(f"grade:{complaint_grade}")
            else:
                complaint_grade = rules.default_complaint_grade
                reasons.append(f"grade:{complaint_grade} (default)")
            concept_grades = [c.means.complaint_grade for _, c in [*concepts, *([forced] if forced else [])]
                              if c.means.complaint_grade is not None]  # fmt: skip
            if concept_grades and min(concept_grades) < complaint_grade:  # in doubt, the more severe grade
                complaint_grade = min(concept_grades)
                reasons.append(f"grade:{complaint_grade} (concept)")
            if (scan.safety_terms or complaint_grade == 1) and "safety" not in aspects:
                aspects.append("safety")

        # -- urgency: the type's default, raised by urgency terms, lowered only by explicit low terms.
        urgency = rules.types[request_type].default_urgency
        urgency_scores = scan.urgency_scores
        if urgency_scores:
            strongest = max(urgency_scores, key=lambda level: (_URGENCY_RANK[level], urgency_scores[level]))
            if strongest == "low":
                if urgency in ("normal", "low") and not {"urgent", "high"} & set(urgency_scores):
                    urgency = "low"
            elif _URGENCY_RANK[strongest] > _URGENCY_RANK[urgency]:
                urgency = strongest
        for name, concept in [*concepts, *([forced] if forced and forced not in concepts else [])]:
            raised = concept.means.urgency
            if raised is not None and _URGENCY_RANK[raised] > _URGENCY_RANK[urgency]:
                urgency = raised
                reasons.append(f"concept {name} raises urgency to {raised}")
        if complaint_grade == 1:
            urgency = "urgent"

        # -- sentiment: model log-odds plus rule terms; near even → neutral; angry → negative.
        negative, positive, angry_score = (scan.sentiment[k] for k in ("negative", "positive", "angry"))
        rule_logit = rules.decision.sentiment_rule_weight * (positive - negative - angry_score)
        sentiment_logit: float | None = None
        sentiment_features = textprep.sentiment_features(normalized) if self.model is not None else []
        if sentiment_features:  # the sentiment model reads Chinese; English sentiment is the rules' alone
            sentiment_prediction = self.model.predict_sentiment(sentiment_features)
            sentiment_logit = sentiment_prediction.logit + rule_logit
            total = sentiment_logit
            band = rules.decision.neutral_band.get(request_type, 0.0)
        else:
            sentiment_prediction = None
            total = rule_logit
            sentiment_logit = rule_logit if self.model is not None else None
            band = 0.0
        exclaims = "!!!" in normalized or ("!!" in normalized and total < 0)
        angry = angry_score >= 2 or exclaims
        if angry or total < -band:
            polarity = "negative"
        elif total > band:
            polarity = "positive"
        elif request_type == "complaint":
            polarity = "negative"  # a complaint reports a bad experience, whatever its wording
        else:
            polarity = "neutral"
        if sentiment_prediction is not None:
            words = ", ".join(f"«{name}» {value:+.2f}" for name, value in sentiment_prediction.top_features)
            reasons.append(f"sentiment {polarity}: model {sentiment_prediction.logit:+.2f}, rules {rule_logit:+.2f}"
                           + (f" ({words})" if words else ""))  # fmt: skip
        if angry and _URGENCY_RANK[urgency] < _URGENCY_RANK["high"]:
            urgency = "high"
            reasons.append("angry customer raises urgency to high")

        segment = segment or "regular"
        if segment in rules.raise_urgency_for_segments and urgency in ("normal", "low"):
            urgency = "high" if urgency == "normal" else "normal"
            reasons.append(f"segment {segment} raises urgency to {urgency}")

        classification = Classification(
            type=request_type,
            urgency=urgency,
            complaint_grade=complaint_grade,
            sentiment=polarity,
            angry=angry,
            aspects=aspects,
            segment=segment,
            confidence=confidence,
            reasons=reasons,
            model_version=self.version,
        )
        return Decision(
            classification=classification,
            decided_by=decided_by,
            type_probabilities=dict(prediction.probabilities) if prediction else {},
            sentiment_logit=sentiment_logit,
        )
