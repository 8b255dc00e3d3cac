from rapport.audit.models import AuditEntry
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_account, make_contact

JSON = "application/json"


def test_create_contact_with_parts_returns_201_location_and_etag(api_client, personas):
    account = make_account(owner=personas["bob"], name="Acme Ltd")
    client = api_client("bob")
    response = client.post(
        "/api/v1/contacts",
        {
            "full_name": "Dr. Ada Lovelace",
            "job_title": "Analyst",
            "tags": ["VIP"],
            "emails": [
                {"email": " Ada@Example.COM "},
                {"email": "ada@home.example", "kind": "home"},
            ],
            "phones": [{"number": "+44 20 7946 0018"}],
            "addresses": [{"city": "London", "country": "GB"}],
            "memberships": [{"account": account.pk, "rank": 1, "buying_role": "decision_maker"}],
            "external_ids": [{"source": "erp", "external_id": "C-1"}],
        },
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/contacts/{body['id']}"
    assert response["ETag"] == f'"{body["version"]}"'
    assert body["given_name"] == "Ada" and body["family_name"] == "Lovelace"
    assert body["owner"] == personas["bob"].pk
    assert [e["email"] for e in body["emails"]] == ["ada@example.com", "ada@home.example"]
    assert body["emails"][0]["is_primary"] is True
    assert body["phones"][0]["e164"] == "+442079460018"
    assert body["addresses"][0]["country"] == "GB"
    assert body["memberships"][0]["account_name"] == "Acme Ltd"
    assert body["external_ids"][0]["external_id"] == "C-1"
    assert body["tags"] == ["VIP"]
    assert client.get(response["Location"]).json()["id"] == body["id"]


def test_read_contact_has_version_and_etag(api_client, personas):
    contact = make_contact(owner=personas["bob"])
    response = api_client("bob").get(f"/api/v1/contacts/{contact.pk}")
    assert response.status_code == 200
    assert response.json()["version"] == contact.version
    assert response["ETag"] == f'"{contact.version}"'


def test_patch_contact_changes_only_sent_fields_and_bumps_version(api_client, personas):
    contact = make_contact(owner=personas["bob"], full_name="Ada Lovelace", job_title="Analyst")
    response = api_client("bob").patch(
        f"/api/v1/contacts/{contact.pk}",
        {"job_title": "Chief Analyst"},
        content_type=JSON,
        headers={"If-Match": f'"{contact.version}"'},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["job_title"] == "Chief Analyst"
    assert body["given_name"] == "Ada"
    assert body["version"] == contact.version + 1
    assert response["ETag"] == f'"{contact.version + 1}"'


def test_stale_if_match_is_412_and_changes_nothing(api_client, personas):
    contact = make_contact(owner=personas["bob"], job_title="Analyst")
    client = api_client("bob")
    client.patch(f"/api/v1/contacts/{contact.pk}", {"job_title": "Lead"}, content_type=JSON)
    response = client.patch(
        f"/api/v1/contacts/{contact.pk}",
        {"job_title": "Overwritten"},
        content_type=JSON,
        headers={"If-Match": f'"{contact.version}"'},
    )
    assert response.status_code == 412
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["current_version"] == contact.version + 1
    contact.refresh_from_db()
    assert contact.job_title == "Lead"
    response = api_client("mo").delete(
        f"/api/v1/contacts/{contact.pk}", headers={"If-Match": f'"{contact.version - 1}"'}
    )
    assert response.status_code == 412
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_garbage_if_match_is_412(api_client, personas):
    contact = make_contact(owner=personas["bob"])
    response = api_client("bob").patch(
        f"/api/v1/contacts/{contact.pk}",
        {"job_title": "X"},
        content_type=JSON,
        headers={"If-Match": "not-an-etag"},
    )
    assert response.status_code == 412


def test_delete_contact_is_204_then_404(api_client, personas):
    contact = make_contact(owner=personas["alice"])
    client = api_client("alice")
    response = client.delete(
        f"/api/v1/contacts/{contact.pk}", headers={"If-Match": f'"{contact.version}"'}
    )
    assert response.status_code == 204
    assert client.get(f"/api/v1/contacts/{contact.pk}").status_code == 404


def test_history_shows_old_and_new_values_after_a_patch(api_client, personas):
    contact = make_contact(owner=personas["bob"], job_title="Analyst")
    client = api_client("bob")
    client.patch(f"/api/v1/contacts/{contact.pk}", {"job_title": "Lead"}, content_type=JSON)
    response = client.get(f"/api/v1/contacts/{contact.pk}/history")
    assert response.status_code == 200
    latest = response.json()[0]
    assert latest["action"] == "update"
    assert latest["actor"] == "bob"
    assert latest["via"] == "api"
    assert latest["object_kind"] == "contact"
    assert latest["object_id"] == contact.pk
    assert latest["changes"] == {"job_title": ["Analyst", "Lead"]}
    assert {"at", "actor", "via", "action", "object_kind", "object_id", "changes"} <= set(latest)


def test_owner_cannot_be_set_by_sales(api_client, personas):
    contact = make_contact(owner=personas["bob"])
    response = api_client("bob").patch(
        f"/api/v1/contacts/{contact.pk}", {"owner": personas["brenda"].pk}, content_type=JSON
    )
    assert response.status_code == 422
    assert "owner" in response.json()["errors"]
    contact.refresh_from_db()
    assert contact.owner == personas["bob"]


def test_owner_can_be_set_by_a_manager(api_client, personas):
    contact = make_contact(owner=personas["bob"])
    response = api_client("mo").patch(
        f"/api/v1/contacts/{contact.pk}", {"owner": personas["brenda"].pk}, content_type=JSON
    )
    assert response.status_code == 200
    assert response.json()["owner"] == personas["brenda"].pk


def test_read_only_fields_are_unknown_fields(api_client, personas):
    contact = make_contact(owner=personas["alice"])
    client = api_client("alice")
    for name, value in (
        ("id", 5),
        ("version", 9),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("updated_at", "2020-01-01T00:00:00Z"),
        ("sort_name", "x"),
    ):
        response = client.patch(f"/api/v1/contacts/{contact.pk}", {name: value}, content_type=JSON)
        assert response.status_code == 422, name
        assert response.json()["errors"] == {name: ["Unknown field."]}
    contact.refresh_from_db()
    assert contact.version == 1


def test_email_part_crud_uses_parent_version(api_client, personas):
    contact = make_contact(owner=personas["bob"], emails=["a@example.com"])
    client = api_client("bob")
    base = f"/api/v1/contacts/{contact.pk}/emails"
    listed = client.get(base)
    assert listed.status_code == 200
    assert [e["email"] for e in listed.json()] == ["a@example.com"]
    assert listed["ETag"] == f'"{contact.version}"'

    created = client.post(
        base,
        {"email": "B@Example.com", "is_primary": True},
        content_type=JSON,
        headers={"If-Match": f'"{contact.version}"'},
    )
    assert created.status_code == 201, created.content
    email = created.json()
    assert email["email"] == "b@example.com" and email["is_primary"] is True
    assert created["ETag"] == f'"{contact.version + 1}"'
    assert created["Location"] == f"{base}/{email['id']}"
    assert client.get(created["Location"]).json()["email"] == "b@example.com"

    stale = client.patch(
        f"{base}/{email['id']}",
        {"kind": "home"},
        content_type=JSON,
        headers={"If-Match": f'"{contact.version}"'},
    )
    assert stale.status_code == 412
    patched = client.patch(
        f"{base}/{email['id']}",
        {"kind": "home"},
        content_type=JSON,
        headers={"If-Match": created["ETag"]},
    )
    assert patched.status_code == 200
    assert patched.json()["kind"] == "home"

    deleted = client.delete(f"{base}/{email['id']}", headers={"If-Match": patched["ETag"]})
    assert deleted.status_code == 204
    assert [e["email"] for e in client.get(base).json()] == ["a@example.com"]
    assert client.get(f"{base}/{email['id']}").status_code == 404


def test_phone_address_membership_and_external_id_parts(api_client, personas):
    contact = make_contact(owner=personas["bob"])
    account = make_account(owner=personas["bob"])
    client = api_client("bob")
    base = f"/api/v1/contacts/{contact.pk}"
    phone = client.post(
        f"{base}/phones", {"number": "020 7946 0018", "region": "GB"}, content_type=JSON
    )
    assert phone.status_code == 201 and phone.json()["e164"] == "+442079460018"
    assert (
        client.patch(
            f"{base}/phones/{phone.json()['id']}", {"kind": "mobile"}, content_type=JSON
        ).json()["kind"]
        == "mobile"
    )
    address = client.post(
        f"{base}/addresses", {"city": "Paris", "country": "France"}, content_type=JSON
    )
    assert address.status_code == 201 and address.json()["country"] == "FR"
    assert (
        client.patch(
            f"{base}/addresses/{address.json()['id']}", {"city": "Lyon"}, content_type=JSON
        ).json()["city"]
        == "Lyon"
    )
    membership = client.post(
        f"{base}/memberships",
        {"account": account.pk, "started_on": "2024-01-02"},
        content_type=JSON,
    )
    assert membership.status_code == 201, membership.content
    assert membership.json()["started_on"] == "2024-01-02"
    assert (
        client.patch(
            f"{base}/memberships/{membership.json()['id']}", {"rank": 2}, content_type=JSON
        ).json()["rank"]
        == 2
    )
    xid = client.post(
        f"{base}/external-ids", {"source": "erp", "external_id": "42"}, content_type=JSON
    )
    assert xid.status_code == 201
    # External ids are replaced, not edited: there is no PATCH.
    assert (
        client.patch(
            f"{base}/external-ids/{xid.json()['id']}", {"source": "x"}, content_type=JSON
        ).status_code
        == 405
    )
    for part in ("phones", "addresses", "memberships", "external-ids"):
        items = client.get(f"{base}/{part}").json()
        assert len(items) == 1
        assert client.delete(f"{base}/{part}/{items[0]['id']}").status_code == 204
        assert client.get(f"{base}/{part}").json() == []
    assert (
        AuditEntry.objects.filter(
            entity_kind="contact", entity_id=contact.pk, action="delete"
        ).count()
        == 4
    )


def test_part_of_another_contact_is_404(api_client, personas):
    a = make_contact(owner=personas["bob"], emails=["a@example.com"])
    b = make_contact(owner=personas["bob"], emails=["b@example.com"])
    email_of_b = b.emails.get().pk
    response = api_client("bob").delete(f"/api/v1/contacts/{a.pk}/emails/{email_of_b}")
    assert response.status_code == 404
    assert b.emails.exists()


def test_history_of_a_new_contact_never_shows_a_hidden_custom_value(api_client, personas):
    from rapport.customers.models import DataField
    from rapport.customers.tests.factories import make_contact

    DataField.objects.create(
        entity="contact",
        key="salary_band",
        label="Salary band",
        type="text",
        view_roles=["manager"],
    )
    contact = make_contact(custom={"salary_band": "C"})
    as_sam = api_client("sam").get(f"/api/v1/contacts/{contact.pk}/history").json()
    created = [e for e in as_sam if e["action"] == "create" and e["object_kind"] == "contact"][0]
    assert "custom.salary_band" not in created["changes"] and "custom" not in created["changes"]
    as_mo = api_client("mo").get(f"/api/v1/contacts/{contact.pk}/history").json()
    created = [e for e in as_mo if e["action"] == "create" and e["object_kind"] == "contact"][0]
    assert created["changes"]["custom.salary_band"] == [None, "C"]
