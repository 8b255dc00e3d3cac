"""The data dictionary page: documentation for everyone, editing for admins."""

from __future__ import annotations

from django.urls import reverse

from rapport.audit.services import Actor
from rapport.customers import services
from rapport.customers.models import DataField


def test_lists_builtin_and_added_fields(client, personas):
    services.datafield_create(actor=Actor(personas["alice"]), data={"entity": "account", "label": "Credit limit", "type": "number", "help_text": "In euros", "view_roles": ["manager"]})
    client.force_login(personas["rita"])
    page = client.get(reverse("customers:datadict")).content.decode()
    assert "Credit limit" in page and "custom.credit_limit" in page and "In euros" in page and "Manager" in page
    assert "preferred_channel" in page and "legal_name" in page
    assert reverse("customers:datafield-create") not in page


def test_admin_adds_edits_and_retires_a_field(client, personas):
    client.force_login(personas["alice"])
    response = client.post(reverse("customers:datafield-create"), {
        "entity": "contact", "type": "choice", "label": "Tier", "choices": "Gold\nSilver", "required": "true",
        "view_roles": ["sales", "manager"], "position": "3",
    })
    assert response.status_code == 302
    field = DataField.objects.get()
    assert (field.key, field.choices, field.required, field.view_roles) == ("tier", ["Gold", "Silver"], True, ["manager", "sales"])
    url = reverse("customers:datafield-edit", args=[field.pk])
    assert client.post(url, {"version": field.version, "label": "Customer tier", "choices": "Gold\nSilver\nBronze", "position": "3"}).status_code == 302
    field.refresh_from_db()
    assert field.label == "Customer tier" and field.choices == ["Gold", "Silver", "Bronze"] and not field.required
    assert client.post(reverse("customers:datafield-retire", args=[field.pk])).status_code == 302
    field.refresh_from_db()
    assert not field.is_active


def test_invalid_field_keeps_input(client, personas):
    client.force_login(personas["alice"])
    response = client.post(reverse("customers:datafield-create"), {"entity": "contact", "type": "choice", "label": "Tier", "choices": ""})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="f-choices-error"' in page and 'value="Tier"' in page


def test_only_admins_change_the_dictionary(client, personas):
    field = services.datafield_create(actor=Actor(personas["alice"]), data={"entity": "contact", "label": "Tier", "type": "text"})
    client.force_login(personas["mo"])
    assert client.post(reverse("customers:datafield-create"), {"entity": "contact", "type": "text", "label": "X"}).status_code == 403
    assert client.get(reverse("customers:datafield-edit", args=[field.pk])).status_code == 403
    assert client.post(reverse("customers:datafield-retire", args=[field.pk])).status_code == 403
    field.refresh_from_db()
    assert field.is_active
