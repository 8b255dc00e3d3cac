import pytest

from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed, VersionConflict
from rapport.customers import services
from rapport.customers.models import Contact, ContactEmail, DataField
from rapport.customers.services import ContactParts
from rapport.customers.tests.factories import make_account, make_contact


def test_create_parses_a_typed_full_name_and_normalises_its_parts(alice):
    account = make_account(name="Acme Ltd")
    contact = services.contact_create(
        actor=actor(alice),
        data={"full_name": "Ms. Zoë Ångström-Smith", "job_title": "CTO", "language": "en_gb"},
        parts=ContactParts(
            emails=[{"email": "Zoe@Acme.COM"}],
            phones=[{"number": "020 7946 0958", "kind": "mobile"}],
            memberships=[{"account": account.pk, "buying_role": "decision_maker", "rank": 1}],
        ),
    )
    assert (contact.prefix, contact.given_name, contact.family_name) == ("Ms.", "Zoë", "Ångström-Smith")
    assert contact.sort_name == "angstrom-smith zoe"
    assert contact.language == "en-GB"
    assert contact.owner == alice
    email = contact.emails.get()
    assert (email.email, email.domain, email.is_primary) == ("zoe@acme.com", "acme.com", True)
    phone = contact.phones.get()
    assert (phone.e164, phone.raw) == ("+442079460958", "020 7946 0958")
    membership = contact.memberships.get()
    assert membership.is_primary and membership.buying_role == "decision_maker"


def test_create_with_a_bad_part_saves_nothing_and_names_the_field(alice):
    with pytest.raises(ValidationFailed) as exc:
        services.contact_create(
            actor=actor(alice),
            data={"full_name": "Ann Lee"},
            parts=ContactParts(emails=[{"email": "ann@example.com"}, {"email": "not-an-email"}]),
        )
    assert "emails[1].email" in exc.value.errors
    assert not Contact.objects.exists()
    assert not ContactEmail.objects.exists()
    assert not AuditEntry.objects.exists()


def test_every_invalid_field_is_reported_at_once(alice):
    with pytest.raises(ValidationFailed) as exc:
        services.contact_create(
            actor=actor(alice),
            data={"given_name": "", "family_name": "", "lifecycle": "vip", "time_zone": "Nowhere", "color": "red"},
        )
    assert {"family_name", "lifecycle", "time_zone", "color"} <= set(exc.value.errors)


def test_update_records_old_and_new_values_in_the_audit_trail(alice):
    contact = make_contact(full_name="Ann Lee", job_title="Engineer")
    services.contact_update(actor=actor(alice, "api"), contact=contact, data={"job_title": "CTO"})
    entry = AuditEntry.objects.filter(entity_kind="contact", entity_id=contact.pk, action="update").get()
    assert entry.changes == {"job_title": ["Engineer", "CTO"]}
    assert (entry.actor, entry.via) == (alice, "api")


def test_a_stale_version_is_refused_and_changes_nothing(alice):
    contact = make_contact(full_name="Ann Lee", job_title="Engineer")
    services.contact_update(actor=actor(alice), contact=contact, data={"job_title": "Lead"}, expected_version=1)
    with pytest.raises(VersionConflict):
        services.contact_update(
            actor=actor(alice), contact=contact, data={"job_title": "CTO"}, expected_version=1
        )
    contact.refresh_from_db()
    assert (contact.job_title, contact.version) == ("Lead", 2)


def test_an_update_that_changes_nothing_keeps_the_version(alice):
    contact = make_contact(full_name="Ann Lee", job_title="Engineer")
    services.contact_update(actor=actor(alice), contact=contact, data={"job_title": "Engineer"})
    contact.refresh_from_db()
    assert contact.version == 1


def test_sales_cannot_change_the_owner(personas):
    contact = make_contact(owner=personas["bob"])
    with pytest.raises(ValidationFailed) as exc:
        services.contact_update(actor=actor(personas["bob"]), contact=contact, data={"owner": personas["brenda"].pk})
    assert "owner" in exc.value.errors


def test_a_rep_of_another_team_cannot_see_or_change_a_contact(personas):
    contact = make_contact(owner=personas["bob"])
    with pytest.raises(NotFound):
        services.contact_update(actor=actor(personas["carl"]), contact=contact, data={"job_title": "x"})
    # A teammate can.
    services.contact_update(actor=actor(personas["brenda"]), contact=contact, data={"job_title": "x"})


def test_read_only_users_cannot_create(personas):
    with pytest.raises(PermissionDenied):
        services.contact_create(actor=actor(personas["rita"]), data={"full_name": "Ann Lee"})


def test_delete_is_audited_with_the_last_values(alice):
    contact = make_contact(full_name="Ann Lee")
    pk = contact.pk
    services.contact_delete(actor=actor(alice), contact=contact)
    assert not Contact.objects.filter(pk=pk).exists()
    entry = AuditEntry.objects.get(entity_kind="contact", entity_id=pk, action="delete")
    assert entry.changes["family_name"] == ["Lee", None]


def test_data_dictionary_values_are_validated_and_required_fields_enforced(alice):
    DataField.objects.create(entity="contact", key="personality", label="Personality", type="choice", choices=["Driver", "Analytical"], required=True)
    DataField.objects.create(entity="contact", key="birthday", label="Birthday", type="date")
    with pytest.raises(ValidationFailed) as exc:
        services.contact_create(actor=actor(alice), data={"full_name": "Ann Lee", "custom": {"birthday": "1990-02-30"}})
    assert set(exc.value.errors) == {"custom.personality", "custom.birthday"}
    contact = services.contact_create(
        actor=actor(alice), data={"full_name": "Ann Lee", "custom": {"personality": "Driver", "birthday": "1990-12-31"}}
    )
    assert contact.custom == {"personality": "Driver", "birthday": "1990-12-31"}


def test_a_field_limited_to_some_roles_cannot_be_set_by_others(personas):
    DataField.objects.create(entity="contact", key="drivers", label="Drivers", type="text", edit_roles=["sales"])
    contact = make_contact(owner=personas["bob"])
    services.contact_update(actor=actor(personas["bob"]), contact=contact, data={"custom": {"drivers": "Growth"}})
    with pytest.raises(ValidationFailed) as exc:
        services.contact_update(actor=actor(personas["sam"]), contact=contact, data={"custom": {"drivers": "Price"}})
    assert "custom.drivers" in exc.value.errors
    contact.refresh_from_db()
    assert contact.custom["drivers"] == "Growth"


def test_tags_are_set_and_audited(alice):
    contact = make_contact()
    services.contact_update(actor=actor(alice), contact=contact, data={"tags": "vip, beta ,vip"})
    assert sorted(contact.tags.values_list("name", flat=True)) == ["beta", "vip"]
    entry = AuditEntry.objects.filter(entity_id=contact.pk, action="update").get()
    assert entry.changes == {"tags": [[], ["beta", "vip"]]}
