"""A customer's contact record: the one budget shared by surveys, callbacks and care.

Stored per customer (keyed by customer id). It answers three questions at fire time:
- the gap: when may this customer next be contacted (`ContactBudget.min_gap` after the last
  contact of any kind)?
- suppression: was the customer surveyed within the follow-up file's `suppression` window?
- caps: how many care messages went out this calendar month (business time zone)?
and remembers the occasion keys already sent ("birthday:2027"), so each occasion fires once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

ContactKind = Literal["survey", "callback", "second_followup", "care"]

# Contacts older than this are forgotten (longer than any month, gap or usual suppression window).
CONTACTS_KEPT_SECONDS = 62 * 86400
CONTACTS_KEPT = 64
# Occasion keys are kept this long: a yearly occasion's key is needed until its year is over.
OCCASION_KEYS_KEPT_SECONDS = 400 * 86400


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: float
    kind: ContactKind
    key: str  # the ticket's follow-up ("TKT-…:survey:1") or the care occasion ("birthday:2027")


class ContactLog(BaseModel):
    """Value of the contacts table (keyed by customer id)."""

    model_config = ConfigDict(extra="forbid")

    contacts: list[Contact] = []
    occasion_keys: dict[str, float] = {}  # care occasion key -> when it was sent (or suppressed)

    def last_contact(self) -> float | None:
        return max((contact.at for contact in self.contacts), default=None)

    def next_allowed(self, moment: float, min_gap_seconds: float) -> float:
        """`moment`, or the end of the gap after the last contact when that is later."""
        last = self.last_contact()
        if last is None:
            return moment
        return max(moment, last + min_gap_seconds)

    def last_survey(self) -> float | None:
        surveys = [contact.at for contact in self.contacts if contact.kind in ("survey", "callback")]
        return max(surveys, default=None)

    def surveyed_within(self, moment: float, window_seconds: float, *, excluding_key: str | None = None) -> bool:
        return any(
            contact.kind in ("survey", "callback")
            and contact.key != excluding_key
            and moment - window_seconds < contact.at <= moment
            for contact in self.contacts
        )

    def care_in_month(self, moment: float, zone: ZoneInfo) -> int:
        """Care messages sent in the calendar month of `moment` (local to `zone`)."""
        month = _month(moment, zone)
        return sum(1 for contact in self.contacts if contact.kind == "care" and _month(contact.at, zone) == month)

    def has_occasion(self, key: str) -> bool:
        return key in self.occasion_keys

    def has_contact(self, key: str) -> bool:
        return any(contact.key == key for contact in self.contacts)


def _month(moment: float, zone: ZoneInfo) -> tuple[int, int]:
    local = datetime.fromtimestamp(moment, zone)
    return (local.year, local.month)


def record_contact(log: ContactLog | None, *, at: float, kind: ContactKind, key: str) -> ContactLog:
    """The log with one more contact (a repeated key is not counted twice); old entries fall off."""
    log = log.model_copy(deep=True) if log is not None else ContactLog()
    if not log.has_contact(key):
        log.contacts.append(Contact(at=at, kind=kind, key=key))
    if kind == "care":
        log.occasion_keys.setdefault(key, at)
    return forget_old(log, at)


def record_occasion_skipped(log: ContactLog | None, *, at: float, key: str) -> ContactLog:
    """An occasion that was suppressed (cap, budget, holiday) still counts as handled: never retried."""
    log = log.model_copy(deep=True) if log is not None else ContactLog()
    log.occasion_keys.setdefault(key, at)
    return forget_old(log, at)


def forget_old(log: ContactLog, now: float) -> ContactLog:
    log.contacts = sorted(
        (contact for contact in log.contacts if now - contact.at <= CONTACTS_KEPT_SECONDS), key=lambda c: c.at
    )[-CONTACTS_KEPT:]
    log.occasion_keys = {key: at for key, at in log.occasion_keys.items() if now - at <= OCCASION_KEYS_KEPT_SECONDS}
    return log


def local_date(moment: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(moment, zone).date()
