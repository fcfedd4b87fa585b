"""The filter shared by routing rules and SLA policies: "first matching rule wins".

A filter lists fields of a ticket; each entry is one value or a list of accepted values;
an absent entry matches anything. `aspect` matches when the request has any listed aspect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from streams.models import CHANNELS, CUSTOMER_TIERS, REQUEST_TYPES, URGENCIES

_KNOWN_VALUES: dict[str, tuple[Any, ...]] = {
    "channel": CHANNELS,
    "type": REQUEST_TYPES,
    "urgency": URGENCIES,
    "complaint_grade": (1, 2, 3),
    "tier": CUSTOMER_TIERS,
}


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: tuple[str, ...] | None = None
    type: tuple[str, ...] | None = None
    urgency: tuple[str, ...] | None = None
    complaint_grade: tuple[int, ...] | None = None
    tier: tuple[str, ...] | None = None
    aspect: tuple[str, ...] | None = None
    department: tuple[str, ...] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None or isinstance(value, (list, tuple)):
            return value
        return (value,)

    @field_validator("channel", "type", "urgency", "complaint_grade", "tier")
    @classmethod
    def _known(cls, value: tuple | None, info: Any) -> tuple | None:
        if value is None:
            return value
        allowed = _KNOWN_VALUES[info.field_name]
        unknown = [item for item in value if item not in allowed]
        if unknown:
            raise ValueError(f"unknown {info.field_name} {unknown}; expected one of {list(allowed)}")
        return value

    def matches(self, fields: Mapping[str, Any]) -> bool:
        for name in ("channel", "type", "urgency", "complaint_grade", "tier", "department"):
            accepted = getattr(self, name)
            if accepted is not None and fields.get(name) not in accepted:
                return False
        if self.aspect is not None and not set(self.aspect) & set(fields.get("aspects") or ()):
            return False
        return True
