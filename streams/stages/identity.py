"""identity: customers.profiles → the contact index that normalize resolves customers with."""

from __future__ import annotations

import logging

import orjson
from pydantic import ValidationError

from streams import metrics
from streams.adapters.normalize import describe_validation_error
from streams.domain.identity import index_update
from streams.models import CustomerProfile
from streams.records import Source
from streams.state.stores import ContactStore

log = logging.getLogger(__name__)


class IdentityStage:
    """customers.profiles → the contact index: each contact id of a profile points at its
    customer id; contacts a profile dropped are removed. Entries: `c:<contact key>` → customer
    id, and `p:<customer id>` → the profile's contact keys (to know what it dropped next time).
    """

    def __init__(self, store: ContactStore) -> None:
        self.store = store

    def lookup(self, contact_key: str) -> str | None:
        return self.store.get("c:" + contact_key)

    def process(self, raw: bytes, source: Source | None = None) -> None:
        try:
            profile = CustomerProfile.model_validate_json(raw)
        except ValidationError as exc:
            reason, _ = describe_validation_error(exc)
            log.warning("identity: ignoring an invalid profile at %s: %s", source, reason)
            metrics.CONTACT_INDEX_UPDATES.labels("invalid_profile").inc()
            return
        previous_raw = self.store.get("p:" + profile.customer_id)
        previous = orjson.loads(previous_raw) if previous_raw else []
        update = index_update(profile, previous, self.lookup)
        for key, customer_id in update.put.items():
            self.store.put("c:" + key, customer_id)
            metrics.CONTACT_INDEX_UPDATES.labels("put").inc()
        for key in update.delete:
            self.store.delete("c:" + key)
            metrics.CONTACT_INDEX_UPDATES.labels("delete").inc()
        if update.contacts != previous:
            self.store.put("p:" + profile.customer_id, orjson.dumps(update.contacts).decode())
