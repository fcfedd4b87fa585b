"""Bilingual classification in two layers: editable rules, then a trained model.

Type, urgency, complaint grade (docs/labels.md), sentiment with an "angry" flag, aspects, a
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

Modules: `rules` (the operator's YAML, validated), `matching` (the one-pass term scan),
`classifier` (the decision).
"""

from streams.domain.classification.classifier import Classifier, Decision
from streams.domain.classification.rules import (
    ClassificationRules,
    Concept,
    ConceptMeaning,
    DecisionRules,
    NegationRules,
    SentimentRules,
    TypeRule,
)

__all__ = [
    "ClassificationRules",
    "Classifier",
    "Concept",
    "ConceptMeaning",
    "Decision",
    "DecisionRules",
    "NegationRules",
    "SentimentRules",
    "TypeRule",
]
