"""Masking personal data in what the gateway logs: phone numbers and e-mail addresses."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(?<![A-Za-z0-9])\+?\d[\d \-]{5,}\d(?![A-Za-z0-9])")


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) < 7:
        return match.group(0)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_pii(text: str) -> str:
    """`wang@example.cn` → `***@example.cn`; `+86 138 0000 1234` → `*********1234`."""
    return _PHONE.sub(_mask_phone, _EMAIL.sub(r"***@\1", text))
