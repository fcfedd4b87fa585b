"""The classifier: the rules' matches, the concepts, then the trained model (docs/classification.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from streams.domain import text as textprep
from streams.domain.classification.matching import Matcher, Scan
from streams.domain.classification.rules import URGENCY_RANK, ClassificationRules, Concept, ConceptMeaning
from streams.domain.model import TextModel
from streams.models import REQUEST_TYPES, Classification


@dataclass(frozen=True)
class Decision:
    """A classification with what led to it (used by `ticketflow eval` and the tests)."""

    classification: Classification
    decided_by: Literal["safety", "rules", "model", "default"]
    type_probabilities: dict[str, float]  # the model's, before rule evidence (empty without a model)
    sentiment_logit: float | None  # model + rules log-odds of positive (None without a model)
    normalized: str = ""  # the text as read (subject and body, normalized): segment it again for free

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
        self._matcher = Matcher(rules)
        # What the harm model's "yes" means: the harm concept's meaning, or a grade-1 complaint.
        self._harm_concept = rules.concepts.get("harm") or Concept(
            means=ConceptMeaning(type="complaint", complaint_grade=1, urgency="urgent"), cues={"model": ["-"]}
        )
        if model is not None:
            self.decide("預熱 warm-up")  # load the converter and the segmenter now, not on the first request

    @cached_property
    def version(self) -> str:
        """Rules version, plus the trained weights' version when there is a model."""
        return f"{self.rules.version}+{self.model.version}" if self.model else self.rules.version

    def _concepts(self, scan: Scan) -> list[tuple[str, Concept]]:
        """The concepts present, each with its type evidence added to the scan and its cues named
        in the reasons."""
        present = []
        for name, concept in self.rules.concepts.items():
            groups = scan.concept_cues.get(name, {})
            if not concept.present(set(groups)):
                continue
            present.append((name, concept))
        set_aside = {other for _, concept in present for other in concept.sets_aside}
        kept = []
        for name, concept in present:
            cues = ", ".join(f"{group} «{cue}»" for group, cue in scan.concept_cues[name].items())
            if name in set_aside:
                scan.reasons.append(f"concept {name} set aside: {cues}")
                continue
            kept.append((name, concept))
            scan.reasons.append(f"concept {name}: {cues}")
            for type_name, weight in concept.type_evidence.items():
                scan.type_scores[type_name] = scan.type_scores.get(type_name, 0.0) + weight
        if "harm" in set_aside and scan.safety_terms:  # a hypothetical harm (docs/classification.md)
            scan.reasons.append(f"safety terms set aside: {', '.join(scan.safety_terms)}")
            scan.safety_terms.clear()
        return kept

    def _certain_type(self, scan: Scan) -> tuple[str, float, float] | None:
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
        scan = self._matcher.scan(normalized)
        concepts = self._concepts(scan)
        forced = next(((name, concept) for name, concept in concepts if concept.means.type), None)
        reasons = scan.reasons
        features = textprep.features(normalized) if self.model else []
        prediction = self.model.predict_type(features) if self.model else None
        harm = self.model.predict_harm(features) if self.model else None
        grade_probabilities = self.model.predict_grade(features) if self.model else None
        urgent_probability = self.model.predict_urgent(features) if self.model else None
        # Against other evidence — a concept giving another grade, or a type model sure it is no
        # complaint — the harm model needs more confidence.
        other_grade = any(c.means.complaint_grade not in (None, 1) for _, c in concepts)
        harm_set_aside = any("harm" in c.sets_aside for _, c in concepts)
        sure_not_complaint = prediction is not None and prediction.probabilities.get("complaint", 1.0) < 0.05
        threshold = (
            rules.decision.harm_threshold_over_concept
            if other_grade or sure_not_complaint
            else rules.decision.harm_threshold
        )
        if forced is None and harm is not None and harm >= threshold and not harm_set_aside:
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
            reasons.append(
                f"decided by model{note}: {request_type} {confidence:.2f} "
                f"(model alone {prediction.probabilities[request_type]:.2f}; {evidence or 'no strong feature'})"
                f"{ruled_out}"
            )
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

        # -- complaint grade (docs/labels.md): safety → 1; otherwise the best-scoring grade, else the default.
        aspects = scan.aspects
        complaint_grade: int | None = None
        if request_type == "complaint":
            if scan.safety_terms:
                complaint_grade = 1
            elif grade_probabilities:
                weight, grades = rules.decision.grade_rule_weight, scan.grade_scores
                # Grade 1 is the harm model's and the safety terms' call: the grade layer weighs 2 against 3.
                combined = {
                    g: math.log(max(p, 1e-12)) + weight * grades.get(g, 0.0)
                    for g, p in grade_probabilities.items()
                    if g != "1" or grades.get("1")
                }
                complaint_grade = int(max(combined, key=lambda g: (combined[g], -int(g))))
                reasons.append(
                    f"grade:{complaint_grade} (grade model {grade_probabilities[str(complaint_grade)]:.2f}"
                    + (f", grade terms {dict(grades)})" if grades else ")")
                )
            elif scan.grade_scores:
                grades = scan.grade_scores
                complaint_grade = int(min(grades, key=lambda g: (-grades[g], int(g))))
                reasons.append(f"grade:{complaint_grade}")
            else:
                complaint_grade = rules.default_complaint_grade
                reasons.append(f"grade:{complaint_grade} (default)")
            concept_grades = [
                c.means.complaint_grade
                for _, c in [*concepts, *([forced] if forced else [])]
                if c.means.complaint_grade is not None
            ]
            if concept_grades and min(concept_grades) < complaint_grade:  # in doubt, the more severe grade
                complaint_grade = min(concept_grades)
                reasons.append(f"grade:{complaint_grade} (concept)")
            if (scan.safety_terms or complaint_grade == 1) and "safety" not in aspects:
                aspects.append("safety")

        # -- urgency: the type's default, raised by urgency terms, lowered only by explicit low terms.
        urgency = rules.types[request_type].default_urgency
        urgency_scores = scan.urgency_scores
        if urgency_scores:
            strongest = max(urgency_scores, key=lambda level: (URGENCY_RANK[level], urgency_scores[level]))
            if strongest == "low":
                if urgency in ("normal", "low") and not {"urgent", "high"} & set(urgency_scores):
                    urgency = "low"
            elif URGENCY_RANK[strongest] > URGENCY_RANK[urgency]:
                urgency = strongest
        for name, concept in [*concepts, *([forced] if forced and forced not in concepts else [])]:
            raised = concept.means.urgency
            if raised is not None and URGENCY_RANK[raised] > URGENCY_RANK[urgency]:
                urgency = raised
                reasons.append(f"concept {name} raises urgency to {raised}")
        if complaint_grade == 1:
            urgency = "urgent"
        elif (
            urgent_probability is not None
            and urgent_probability >= rules.decision.urgent_threshold
            and not harm_set_aside
        ):
            if urgency != "urgent":
                reasons.append(f"urgency model {urgent_probability:.2f} raises urgency to urgent")
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
            reasons.append(
                f"sentiment {polarity}: model {sentiment_prediction.logit:+.2f}, rules {rule_logit:+.2f}"
                + (f" ({words})" if words else "")
            )
        if angry and URGENCY_RANK[urgency] < URGENCY_RANK["high"]:
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
            normalized=normalized,
        )
