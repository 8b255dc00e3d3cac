import pytest

from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.core.errors import ValidationFailed, VersionConflict
from rapport.customers import services
from rapport.customers.tests.factories import make_account, make_contact


def test_the_first_email_is_primary_and_a_new_primary_replaces_it(alice):
    contact = make_contact(emails=[])
    first = services.part_add(actor=actor(alice), parent=contact, part="emails", data={"email": "a@example.com"})
    second = services.part_add(actor=actor(alice), parent=contact, part="emails", data={"email": "b@example.com", "is_primary": True})
    first.refresh_from_db()
    assert (first.is_primary, second.is_primary) == (False, True)


def test_deleting_the_primary_phone_promotes_another(alice):
    contact = make_contact(phones=["020 7946 0958", "+1 415 555 2671"])
    primary = contact.phones.get(is_primary=True)
    services.part_delete(actor=actor(alice), parent=contact, part="phones", obj=primary)
    assert contact.phones.get().is_primary


def test_the_same_number_twice_on_one_contact_is_refused_in_any_format(alice):
    contact = make_contact(phones=["020 7946 0958"])
    with pytest.raises(ValidationFailed) as exc:
        services.part_add(actor=actor(alice), parent=contact, part="phones", data={"number": "+44 20 7946 0958"})
    assert "number" in exc.value.errors


def test_changing_a_part_bumps_the_parent_version_and_is_audited(alice):
    contact = make_contact(emails=["a@example.com"])
    services.part_add(actor=actor(alice), parent=contact, part="phones", data={"number": "020 7946 0958"}, expected_version=1)
    contact.refresh_from_db()
    assert contact.version == 2
    entry = AuditEntry.objects.get(entity_id=contact.pk, object_kind="phone")
    assert entry.changes["e164"] == [None, "+442079460958"]
    with pytest.raises(VersionConflict):
        services.part_add(actor=actor(alice), parent=contact, part="emails", data={"email": "b@example.com"}, expected_version=1)


def test_an_external_id_is_unique_per_source(alice):
    a = make_contact()
    b = make_contact()
    services.part_add(actor=actor(alice), parent=a, part="external_ids", data={"source": "oldcrm", "external_id": "42"})
    with pytest.raises(ValidationFailed) as exc:
        services.part_add(actor=actor(alice), parent=b, part="external_ids", data={"source": "oldcrm", "external_id": "42"})
    assert "already belongs" in exc.value.errors["external_id"][0]
    services.part_add(actor=actor(alice), parent=b, part="external_ids", data={"source": "shop", "external_id": "42"})


def test_a_domain_belongs_to_one_account(alice):
    make_account(domains=["acme.com"])
    with pytest.raises(ValidationFailed) as exc:
        make_account(domains=["https://www.ACME.com"])
    assert "domains[0].domain" in exc.value.errors


def test_a_contact_can_belong_to_several_accounts_with_one_primary(alice):
    acme, globex = make_account(), make_account()
    contact = make_contact(account=acme)
    services.part_add(actor=actor(alice), parent=contact, part="memberships", data={"account": globex.pk, "is_primary": True, "buying_role": "influencer", "rank": 2})
    primaries = list(contact.memberships.filter(is_primary=True).values_list("account_id", flat=True))
    assert primaries == [globex.pk]


def test_a_membership_to_an_invisible_account_is_refused(personas):
    hidden = make_account(owner=personas["carl"])
    contact = make_contact(owner=personas["bob"])
    # Sales see their team's accounts only.
    with pytest.raises(ValidationFailed) as exc:
        services.part_add(actor=actor(personas["bob"]), parent=contact, part="memberships", data={"account": hidden.pk})
    assert "account" in exc.value.errors


def test_address_country_is_stored_as_iso_code(alice):
    contact = make_contact()
    address = services.part_add(actor=actor(alice), parent=contact, part="addresses", data={"street": "1 Main St", "city": "Berlin", "country": "Germany"})
    assert address.country == "DE"
    with pytest.raises(ValidationFailed) as exc:
        services.part_add(actor=actor(alice), parent=contact, part="addresses", data={"city": "X", "country": "Narnia"})
    assert "country" in exc.value.errors


def test_an_account_cannot_be_its_own_ancestor(alice):
    parent = make_account()
    child = make_account(parent=parent.pk)
    with pytest.raises(ValidationFailed) as exc:
        services.account_update(actor=actor(alice), account=parent, data={"parent": child.pk})
    assert "parent" in exc.value.errors
