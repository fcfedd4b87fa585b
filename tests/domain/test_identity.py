from streams import ids
from streams.domain import identity
from streams.models import ContactIds, CustomerProfile, CustomerRef

PROFILE = CustomerProfile(
    customer_id="CRM-1",
    contacts=ContactIds(
        phones=["+86 138-0000-1111"],
        emails=["Wang@Example.CN"],
        wecom_ids=["wangfang"],
        customer_numbers=["C202405001"],
    ),
)


def index_of(*profiles):
    index: dict[str, str] = {}
    for profile in profiles:
        for key in identity.profile_contact_keys(profile):
            index[key] = profile.customer_id
    return index.get


def test_contact_keys_are_normalised_so_notations_match():
    assert identity.profile_contact_keys(PROFILE) == [
        "number:C202405001",
        "phone:13800001111",
        "email:wang@example.cn",
        "wecom:wangfang",
    ]
    assert identity.phone_key("13800001111") == identity.phone_key("+86 138 0000 1111")


def test_the_same_person_on_phone_email_wecom_and_the_store_log_is_one_customer():
    lookup = index_of(PROFILE)
    refs = [
        CustomerRef(phone="138 0000 1111"),
        CustomerRef(email="wang@example.cn"),
        CustomerRef(wecom_id="wangfang"),
        CustomerRef(id="C202405001"),
    ]
    assert {identity.resolve_customer(ref, lookup, fallback="r")[0] for ref in refs} == {"CRM-1"}


def test_resolution_says_which_contact_found_the_profile():
    assert identity.resolve_customer(CustomerRef(email="WANG@example.cn"), index_of(PROFILE), "r") == (
        "CRM-1",
        "profile:email",
    )


def test_unknown_contacts_fall_back_to_the_deterministic_id():
    ref = CustomerRef(phone="13900002222")
    expected = ids.customer_id_for(explicit_id=None, phone=ref.phone, email=None, wecom_id=None, fallback="r")
    assert identity.resolve_customer(ref, index_of(PROFILE), "r") == expected
    assert identity.resolve_customer(ref, None, "r") == expected


def test_new_profile_puts_every_contact():
    update = identity.index_update(PROFILE, [], lambda key: None)
    assert update.put == dict.fromkeys(identity.profile_contact_keys(PROFILE), "CRM-1") and update.delete == []


def test_dropped_contact_is_removed_unless_another_profile_claimed_it():
    before = identity.profile_contact_keys(PROFILE)
    changed = PROFILE.model_copy(update={"contacts": ContactIds(phones=["13800001111"])})
    owners = dict.fromkeys(before, "CRM-1") | {"wecom:wangfang": "CRM-2"}
    update = identity.index_update(changed, before, owners.get)
    assert update.put == {}
    assert sorted(update.delete) == ["email:wang@example.cn", "number:C202405001"]
    assert update.contacts == ["phone:13800001111"]
