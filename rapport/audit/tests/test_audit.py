from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.customers import services
from rapport.customers.tests.factories import make_contact


def test_the_trail_cannot_be_edited_in_the_admin(client, alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    contact = make_contact()
    services.contact_update(actor=actor(alice), contact=contact, data={"job_title": "CTO"})
    entry = AuditEntry.objects.filter(action="update").get()
    change_page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert change_page.status_code == 200
    assert b'name="_save"' not in change_page.content
    response = client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"changes": "{}"})
    assert response.status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.changes == {"job_title": ["", "CTO"]}


def test_each_path_is_recorded(alice):
    contact = make_contact()
    for via in ("web", "api", "import", "automation"):
        services.contact_update(actor=actor(alice, via), contact=contact, data={"job_title": via})
    vias = list(AuditEntry.objects.filter(action="update").order_by("id").values_list("via", flat=True))
    assert vias == ["web", "api", "import", "automation"]


def test_a_data_dictionary_change_is_one_entry_per_field(alice):
    from rapport.customers.models import DataField

    DataField.objects.create(entity="contact", key="nps", label="NPS", type="number")
    DataField.objects.create(entity="contact", key="vip", label="VIP", type="boolean")
    contact = make_contact()
    services.contact_update(actor=actor(alice), contact=contact, data={"custom": {"nps": "9", "vip": "yes"}})
    entry = AuditEntry.objects.filter(action="update").get()
    assert entry.changes == {"custom.nps": [None, 9], "custom.vip": [None, True]}
