"""One customer across channels: contact ids (phone, e-mail, WeChat Work id, customer number)
→ the customer id of the CRM profile that lists them (`customers.profiles`), with the
deterministic id of `ids.customer_id_for` as the fallback when no profile names the contact.

Contact keys are normalised so that the same phone in two notations, or an e-mail address in
two cases, is one key: `phone:13800000000`, `email:wang@example.cn`, `wecom:zhangsan`,
`number:C202405001`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from streams import ids
from streams.models import CustomerProfile, CustomerRef

Lookup = Callable[[str], "str | None"]


def phone_key(phone: str | None) -> str | None:
    digits = ids.normalise_phone(phone) if phone else ""
    return f"phone:{digits}" if digits else None


def email_key(address: str | None) -> str | None:
    address = (address or "").strip().lower()
    return f"email:{address}" if "@" in address else None


def wecom_key(wecom_id: str | None) -> str | None:
    wecom_id = (wecom_id or "").strip()
    return f"wecom:{wecom_id}" if wecom_id else None


def number_key(number: str | None) -> str | None:
    number = (number or "").strip()
    return f"number:{number}" if number else None


def _present(keys: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(key for key in keys if key))


def profile_contact_keys(profile: CustomerProfile) -> list[str]:
    contacts = profile.contacts
    return _present(
        [
            *(number_key(number) for number in contacts.customer_numbers),
            *(phone_key(phone) for phone in contacts.phones),
            *(email_key(address) for address in contacts.emails),
            *(wecom_key(wecom_id) for wecom_id in contacts.wecom_ids),
        ]
    )


def request_contact_keys(customer: CustomerRef) -> list[str]:
    """A request's contact ids, the most specific first."""
    return _present(
        [number_key(customer.id), phone_key(customer.phone), email_key(customer.email), wecom_key(customer.wecom_id)]
    )


def resolve_customer(customer: CustomerRef, lookup: Lookup | None, fallback: str) -> tuple[str, str]:
    """(customer id, how it was found): a profile's id when a contact is indexed, else the
    deterministic id from the contacts themselves."""
    if lookup is not None:
        for key in request_contact_keys(customer):
            found = lookup(key)
            if found:
                return found, "profile:" + key.split(":", 1)[0]
    return ids.customer_id_for(
        explicit_id=customer.id,
        phone=customer.phone,
        email=customer.email,
        wecom_id=customer.wecom_id,
        fallback=fallback,
    )


def contact_customer_id(customer: CustomerRef, fallback: str) -> str:
    """The customer id the contacts themselves give (no index): the key of a raw.<channel> record."""
    return resolve_customer(customer, None, fallback)[0]


@dataclass
class IndexUpdate:
    """What a profile changes in the contact index."""

    put: dict[str, str] = field(default_factory=dict)  # contact key → customer id
    delete: list[str] = field(default_factory=list)  # contact keys this customer no longer has
    contacts: list[str] = field(default_factory=list)  # the profile's keys now (remembered for next time)


def index_update(profile: CustomerProfile, previous: Iterable[str], owner_of: Lookup) -> IndexUpdate:
    """Contacts added to the profile point at it; contacts it dropped are removed — unless another
    profile has claimed them since (the latest profile naming a contact wins)."""
    keys = profile_contact_keys(profile)
    update = IndexUpdate(contacts=keys)
    for key in keys:
        if owner_of(key) != profile.customer_id:
            update.put[key] = profile.customer_id
    for key in previous:
        if key not in keys and owner_of(key) == profile.customer_id:
            update.delete.append(key)
    return update
