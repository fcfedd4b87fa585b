"""Deterministic identifiers."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from streams import ids


@given(st.lists(st.one_of(st.text(), st.integers()), min_size=1, max_size=6))
def test_event_ids_are_the_uuid5_of_their_parts(parts):
    expected = str(uuid.uuid5(ids.EVENT_NAMESPACE, "/".join(str(part) for part in parts)))
    assert ids.event_id(*parts) == expected


def test_event_ids_never_change_across_versions():
    # Downstream consumers de-duplicate on these ids: the same event must keep its id for ever.
    assert ids.event_id("TKT-1", "first_response", 1, "breached", 0) == "d98fb8cf-2196-5059-ad52-1ff3417ad570"
