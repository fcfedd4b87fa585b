"""What the classify stage knows about a customer: the CRM segment and the recent requests.

- **Segment**: VIP, new (a customer for fewer than `new_customer_days`), churn-risk
  or regular, from the customer's profile on `customers.profiles`; the tier a channel sent with
  the request is used only when no profile is known.
- **Repeat requests** (the repeat-inquiry rate): a request of the same type from the
  same customer within the repeat window, whose wording overlaps an earlier one (Jaccard
  similarity of their significant tokens ≥ `REPEAT_SIMILARITY`, or the same order or account
  number), is a repeat and is linked to the earlier ticket.

Pure: a `CustomerRecord` and plain values in and out; the record is stored per customer in a
table co-partitioned with `requests.normalized` (keyed by customer id).
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict

from streams.models import CustomerProfile

REPEAT_SIMILARITY = 0.4
RECENT_KEPT = 20
_LONG_NUMBER = re.compile(r"^\d{6,}$")
_STOP_TOKENS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "啊",
        "吧",
        "我",
        "你",
        "们",
        "是",
        "在",
        "有",
        "和",
        "就",
        "都",
        "也",
        "还",
        "很",
        "要",
        "会",
        "能",
        "请",
        "请问",
        "一下",
        "一个",
        "这个",
        "那个",
        "什么",
        "怎么",
        "the",
        "a",
        "an",
        "to",
        "of",
        "and",
        "or",
        "is",
        "are",
        "was",
        "i",
        "my",
        "me",
        "you",
        "your",
        "it",
        "this",
        "that",
        "for",
        "on",
        "in",
        "at",
        "with",
        "please",
        "can",
        "could",
        "would",
        "be",
        "have",
        "has",
        "do",
        "does",
        "not",
        "no",
    ]
)


class RecentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: str
    type: str
    submitted_at: float
    tokens: list[str]


class CustomerRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str | None = None  # from the CRM profile
    customer_since: date | None = None
    recent: list[RecentRequest] = []


def apply_profile(record: CustomerRecord | None, profile: CustomerProfile) -> CustomerRecord:
    record = record or CustomerRecord()
    record.tier = profile.tier
    record.customer_since = profile.customer_since
    return record


def segment(record: CustomerRecord | None, request_tier: str | None, today: date, new_customer_days: int) -> str:
    """VIP, churn_risk, new or regular; the CRM profile wins over what the channel sent."""
    tier = record.tier if record is not None and record.tier is not None else request_tier
    if tier in ("vip", "churn_risk"):
        return tier
    since = record.customer_since if record is not None else None
    if since is not None and (today - since).days < new_customer_days:
        return "new"
    return tier or "regular"


def significant_tokens(tokens: list[str]) -> list[str]:
    """Tokens that say what the request is about (no particles, pronouns or single letters)."""
    kept = {token for token in tokens if token not in _STOP_TOKENS and (len(token) > 1 or not token.isascii())}
    return sorted(kept)


def _similar(one: list[str], other: list[str]) -> bool:
    first, second = set(one), set(other)
    if not first or not second:
        return False
    if {token for token in first & second if _LONG_NUMBER.match(token)}:
        return True  # the same order, account or tracking number
    return len(first & second) / len(first | second) >= REPEAT_SIMILARITY


def find_repeat(
    record: CustomerRecord | None,
    *,
    ticket_id: str,
    request_type: str,
    tokens: list[str],
    submitted_at: float,
    window: float,
) -> str | None:
    """The most recent earlier ticket this request repeats, if any."""
    if record is None:
        return None
    for earlier in reversed(record.recent):
        if earlier.ticket_id == ticket_id:
            continue
        if submitted_at - earlier.submitted_at > window or earlier.submitted_at > submitted_at:
            continue
        if earlier.type == request_type and _similar(earlier.tokens, tokens):
            return earlier.ticket_id
    return None


def remember(
    record: CustomerRecord | None,
    *,
    ticket_id: str,
    request_type: str,
    tokens: list[str],
    submitted_at: float,
    window: float,
) -> CustomerRecord:
    """Add the request to the customer's recent requests, dropping those out of the window."""
    record = record or CustomerRecord()
    recent = [
        item for item in record.recent if submitted_at - item.submitted_at <= window and item.ticket_id != ticket_id
    ]
    recent.append(RecentRequest(ticket_id=ticket_id, type=request_type, submitted_at=submitted_at, tokens=tokens))
    record.recent = recent[-RECENT_KEPT:]
    return record
