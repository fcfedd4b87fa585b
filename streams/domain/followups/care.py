"""Customer care: the occasions of a profile, their once-only keys, and the day-bucketed calendar.

Occasions (care file, `occasions`):
- new_customer_callback: `after_customer_since` calendar days after the CRM's customer_since
  (day 3); key "new_customer_callback" (once per customer);
- win_back: while the profile's tier is a win-back tier (churn_risk), once per `period`; key
  "win_back:2027-Q2" (or "win_back:2027-05", "win_back:2027");
- birthday: on the day; key "birthday:2027";
- anniversary: each year on the day of the first purchase (from the first year after it); key
  "anniversary:2027".
A 29 February birthday or purchase falls on 28 February in other years.

Holidays of the business calendar (`on_holiday`): `send` goes out on the day, `skip` drops the
occasion, `next_working_day` moves it to the next working day (调休 weekends count as working).
The day's messages are due at `send_at` in the business zone, then leave the customer's quiet
hours, respect the contact gap and the month's cap for the tier (vip, new, …): a message that
cannot go out within `late_within` of its due moment is suppressed, and a suppressed occasion is
never retried (its key is recorded as handled).

`CareCalendar` indexes customers by the (month, day) of their yearly occasions and by the date
of their one-off ones, so a day's customers are found without scanning every profile, and no
timer is held per customer. A win-back customer is marked for the day its profile showed the
tier and for the first day of every period, so the next period's win-back comes while the tier
lasts.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from streams.domain.customers import CustomerRecord, segment
from streams.domain.followups.contacts import ContactLog, local_date
from streams.domain.followups.files import OCCASIONS, CareFile, Occasion
from streams.domain.followups.surveys import LATE_AFTER_SECONDS, channel_for, customer_zone, hold_for_quiet_hours
from streams.models import CustomerProfile

SuppressReason = Literal["already_sent", "monthly_cap", "contact_budget", "not_eligible", "disabled"]
# How far back a day's run looks for occasions moved off holidays (the longest Chinese holiday is 8-9 days).
_HOLIDAY_LOOKBACK_DAYS = 15


def occasion_key(occasion: Occasion, day: date, *, period: str = "quarter") -> str:
    if occasion == "new_customer_callback":
        return occasion
    if occasion == "win_back":
        if period == "month":
            return f"win_back:{day.year}-{day.month:02d}"
        if period == "year":
            return f"win_back:{day.year}"
        return f"win_back:{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{occasion}:{day.year}"


def on_day_of_year(original: date, year: int) -> date:
    """The yearly occasion of `original` in `year` (29 February → 28 February in other years)."""
    try:
        return original.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def tier_of(profile: CustomerProfile, day: date, file: CareFile) -> str:
    """vip, churn_risk, new (customer for fewer than `new_customer_days`) or the profile's tier."""
    record = CustomerRecord(tier=profile.tier, customer_since=profile.customer_since)
    return segment(record, None, day, file.new_customer_days)


def natural_day(profile: CustomerProfile, occasion: Occasion, year: int, file: CareFile) -> date | None:
    """The day the occasion falls on in `year`, before holidays move it (win_back has none)."""
    if occasion == "birthday" and profile.birthday is not None:
        return on_day_of_year(profile.birthday, year)
    if occasion == "anniversary" and profile.first_purchase is not None and year > profile.first_purchase.year:
        return on_day_of_year(profile.first_purchase, year)
    if occasion == "new_customer_callback" and profile.customer_since is not None:
        day = profile.customer_since + timedelta(days=file.occasions.new_customer_callback.after_customer_since)
        return day if day.year == year else None
    return None


def sending_day(day: date, occasion: Occasion, file: CareFile) -> date | None:
    """The day an occasion falling on `day` goes out, under the occasion's `on_holiday` rule."""
    rule = file.occasion(occasion).on_holiday
    calendar = file.business_calendar
    if rule == "send" or calendar.is_working_day(day):
        return day
    if rule == "skip":
        return None
    for _ in range(366):
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            return day
    return None


@dataclass(frozen=True)
class CareDue:
    """One care message due for a customer."""

    customer_id: str
    occasion: Occasion
    key: str
    day: date  # the occasion's own day (birthday, …)
    send_day: date  # after the holiday rule
    due_at: float  # send_at on the send day, business zone
    via: str
    channel: str
    tier: str


def occasions_on(profile: CustomerProfile, day: date, file: CareFile) -> list[CareDue]:
    """The care messages a profile has going out on `day` (business zone), in priority order."""
    due: list[CareDue] = []
    for occasion in OCCASIONS:
        rules = file.occasion(occasion)  # type: ignore[arg-type]
        if not rules.enabled:
            continue
        if occasion == "win_back":
            if profile.tier not in file.occasions.win_back.tiers:
                continue
            if rules.on_holiday != "send" and not file.business_calendar.is_working_day(day):
                continue  # skipped, or picked up on the next working day
            own_day: date | None = day
            key = occasion_key("win_back", day, period=file.occasions.win_back.period)
        else:
            own_day = _own_day_sending_on(profile, occasion, day, file)  # type: ignore[arg-type]
            if own_day is None:
                continue
            key = occasion_key(occasion, own_day)  # type: ignore[arg-type]
        assert own_day is not None
        due.append(
            CareDue(
                customer_id=profile.customer_id,
                occasion=occasion,
                key=key,
                day=own_day,  # type: ignore[arg-type]
                send_day=day,
                due_at=file.send_moment(day),
                via=rules.via,
                channel=channel_for(rules.via, profile, None),
                tier=tier_of(profile, day, file),
            )
        )
    return due


def _own_day_sending_on(profile: CustomerProfile, occasion: Occasion, day: date, file: CareFile) -> date | None:
    for year in {day.year, day.year - 1}:
        own = natural_day(profile, occasion, year, file)
        recent = own is not None and own <= day and (day - own).days <= _HOLIDAY_LOOKBACK_DAYS
        if recent and sending_day(own, occasion, file) == day:
            return own
    return None


@dataclass(frozen=True)
class CareDecision:
    verdict: Literal["fire", "hold", "suppress"]
    at: float
    reason: SuppressReason | Literal["quiet_hours", "contact_gap"] | None = None
    late: bool = False
    detail: str = ""


def check_care(
    due: CareDue,
    profile: CustomerProfile | None,
    contacts: ContactLog | None,
    file: CareFile,
    *,
    now: float,
    zone_name: str | None = None,
) -> CareDecision:
    """Fire, hold or suppress a care message at its moment (re-checked against the profile now)."""
    log = contacts or ContactLog()
    late = now - due.due_at > LATE_AFTER_SECONDS
    if log.has_occasion(due.key):
        return CareDecision("suppress", now, "already_sent", late, f"{due.key} was already handled")
    if not file.occasion(due.occasion).enabled:
        return CareDecision("suppress", now, "disabled", late, f"{due.occasion} is switched off")
    if profile is None or not any(d.key == due.key for d in occasions_on(profile, due.send_day, file)):
        return CareDecision("suppress", now, "not_eligible", late, "the profile no longer has this occasion")
    cap = file.cap(due.tier)
    sent = log.care_in_month(now, file.zone)
    if sent >= cap:
        detail = f"{sent} of {cap} care messages this month ({due.tier})"
        return CareDecision("suppress", now, "monthly_cap", late, detail)
    zone = customer_zone(zone_name, file.zone)
    gap = file.contact_budget.min_gap.resolve(86400.0)
    moment = hold_for_quiet_hours(log.next_allowed(now, gap), file.quiet_hours, zone)
    if moment > now:
        if moment - due.due_at > file.late_within.resolve(86400.0):
            return CareDecision(
                "suppress", now, "contact_budget", late, f"could not go out within {file.late_within} of its moment"
            )
        reason = "quiet_hours" if hold_for_quiet_hours(now, file.quiet_hours, zone) > now else "contact_gap"
        return CareDecision("hold", moment, reason, late)  # type: ignore[arg-type]
    if now - due.due_at > file.late_within.resolve(86400.0):
        return CareDecision("suppress", now, "contact_budget", late, f"more than {file.late_within} late")
    return CareDecision("fire", now, None, late)


def days_sending_on(day: date, file: CareFile) -> list[date]:
    """The occasion days whose messages may go out on `day`: the day itself and, on a working day,
    the holidays just before it (moved by `next_working_day`)."""
    days = [day]
    calendar = file.business_calendar
    if calendar.is_working_day(day):
        previous = day - timedelta(days=1)
        while not calendar.is_working_day(previous) and (day - previous).days <= _HOLIDAY_LOOKBACK_DAYS:
            days.append(previous)
            previous -= timedelta(days=1)
    return days


_PERIOD_STARTS = {"month": range(1, 13), "quarter": (1, 4, 7, 10), "year": (1,)}


def _month_day(day: date) -> int:
    return day.month * 100 + day.day


@dataclass(frozen=True)
class CareMarks:
    """Where a customer sits in the care calendar."""

    yearly: tuple[int, ...] = ()  # month*100 + day: birthday, anniversary, the start of each win-back period
    dated: tuple[int, ...] = ()  # date ordinals of one-off occasions (new customer callback, win-back)


def marks_of(profile: CustomerProfile, file: CareFile, today: date) -> CareMarks:
    yearly = []
    if profile.birthday is not None and file.occasions.birthday.enabled:
        yearly.append(_month_day(profile.birthday))
    if profile.first_purchase is not None and file.occasions.anniversary.enabled:
        yearly.append(_month_day(profile.first_purchase))
    dated = []
    if profile.customer_since is not None and file.occasions.new_customer_callback.enabled:
        callback = profile.customer_since + timedelta(days=file.occasions.new_customer_callback.after_customer_since)
        if callback >= today - timedelta(days=_HOLIDAY_LOOKBACK_DAYS):
            dated.append(callback.toordinal())
    win_back = file.occasions.win_back
    if profile.tier in win_back.tiers and win_back.enabled:
        dated.append(today.toordinal())  # due now, then at the start of each period while the tier lasts
        yearly.extend(month * 100 + 1 for month in _PERIOD_STARTS[win_back.period])
    return CareMarks(tuple(sorted(set(yearly))), tuple(sorted(set(dated))))


class CareCalendar:
    """Customer ids bucketed by the days of their occasions; memory is one set entry per mark."""

    def __init__(self) -> None:
        self._yearly: dict[int, set[str]] = {}
        self._dated: dict[int, set[str]] = {}

    def place(self, customer_id: str, marks: CareMarks) -> None:
        customer_id = sys.intern(customer_id)  # one string shared by all of a customer's buckets
        for month_day in marks.yearly:
            self._yearly.setdefault(month_day, set()).add(customer_id)
        for ordinal in marks.dated:
            self._dated.setdefault(ordinal, set()).add(customer_id)

    def remove(self, customer_id: str, marks: CareMarks) -> None:
        for buckets, keys in ((self._yearly, marks.yearly), (self._dated, marks.dated)):
            for key in keys:
                bucket = buckets.get(key)
                if bucket is not None:
                    bucket.discard(customer_id)
                    if not bucket:
                        del buckets[key]

    def move(self, customer_id: str, old: CareMarks | None, new: CareMarks | None) -> None:
        """A profile changed: take it out of its old buckets and into its new ones."""
        if old is not None:
            self.remove(customer_id, old)
        if new is not None:
            self.place(customer_id, new)

    def on_day(self, day: date) -> set[str]:
        """Customers with an occasion falling on `day` (29 February's in a non-leap year's 28 February)."""
        found = set(self._yearly.get(_month_day(day), ()))
        if day.month == 2 and day.day == 28 and not _leap(day.year):
            found |= self._yearly.get(229, set())
        found |= self._dated.get(day.toordinal(), set())
        return found

    def sending_on(self, day: date, file: CareFile) -> set[str]:
        """Customers whose messages may go out on `day`, holidays moved onto it included."""
        found: set[str] = set()
        for own_day in days_sending_on(day, file):
            found |= self.on_day(own_day)
        return found

    def prune(self, before: date) -> int:
        """Drop one-off buckets of days already done; returns how many entries were removed."""
        gone = [ordinal for ordinal in self._dated if ordinal < before.toordinal()]
        removed = sum(len(self._dated.pop(ordinal)) for ordinal in gone)
        return removed

    def __len__(self) -> int:
        return sum(map(len, self._yearly.values())) + sum(map(len, self._dated.values()))

    def buckets(self) -> Iterator[tuple[str, int]]:
        for month_day, bucket in sorted(self._yearly.items()):
            yield f"{month_day // 100:02d}-{month_day % 100:02d}", len(bucket)
        for ordinal, bucket in sorted(self._dated.items()):
            yield date.fromordinal(ordinal).isoformat(), len(bucket)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def profiles_due(profiles: Iterable[CustomerProfile], day: date, file: CareFile) -> list[CareDue]:
    """All care due on `day` for the given profiles (those `CareCalendar.sending_on` returned)."""
    return [due for profile in profiles for due in occasions_on(profile, day, file)]


def today_in(file: CareFile, now: float) -> date:
    return local_date(now, file.zone)
