"""The rules' term matcher: one pass over a normalized text finds the type, urgency, grade,
safety, aspect, sentiment and concept terms, and the negations before them."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.domain import text as textprep
from streams.domain.classification.rules import ClassificationRules


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
class Scan:
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


class Matcher:
    """Every term of the rules, compiled for a one-pass scan; pure and thread-safe."""

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
        self._negation_cues = tuple(textprep.normalize(cue) for cue in rules.negation.cues)
        self._fillers = tuple(sorted((textprep.normalize(f) for f in rules.negation.fillers), key=len, reverse=True))

    def matches(self, text: str) -> list[tuple[int, str]]:
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

    def negated(self, text: str, start: int) -> bool:
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

    def scan(self, normalized: str) -> Scan:
        scan = Scan()
        negated: list[str] = []
        for start, term in self.matches(normalized):
            if self.negated(normalized, start):
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
