"""identity: customers.profiles → the contact index."""

from __future__ import annotations

import orjson

from streams.stages.identity import IdentityStage
from streams.testing import (
    MemoryContacts,
)


def test_identity_stage_indexes_a_profile_and_forgets_dropped_contacts():
    store = MemoryContacts()
    stage = IdentityStage(store)
    profile = {"customer_id": "CRM-1", "contacts": {"phones": ["13800000000"], "emails": ["a@b.cn"]}}
    stage.process(orjson.dumps(profile))
    assert stage.lookup("phone:13800000000") == "CRM-1" and stage.lookup("email:a@b.cn") == "CRM-1"
    stage.process(orjson.dumps({**profile, "contacts": {"phones": ["13800000000"]}}))
    assert stage.lookup("email:a@b.cn") is None and stage.lookup("phone:13800000000") == "CRM-1"


def test_identity_stage_ignores_an_invalid_profile():
    store = MemoryContacts()
    IdentityStage(store).process(b'{"contacts": 1}')
    assert store == {}
