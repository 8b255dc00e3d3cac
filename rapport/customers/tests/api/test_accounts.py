from rapport.customers.models import Account, DataField
from rapport.customers.tests.factories import make_account, make_contact

JSON = "application/json"


def test_account_crud(api_client, personas):
    client = api_client("mo")
    created = client.post(
        "/api/v1/accounts",
        {
            "name": "Acme Widgets Ltd",
            "country": "United Kingdom",
            "phone": "+44 20 7946 0000",
            "notes": "Big fish",
            "domains": ["https://www.Acme.example/"],
            "external_ids": [{"source": "erp", "external_id": "A-1"}],
            "addresses": [{"city": "Leeds", "country": "GB"}],
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == f"/api/v1/accounts/{body['id']}"
    assert created["ETag"] == '"1"'
    assert body["country"] == "GB"
    assert body["phone"] == "+442079460000"
    assert body["domains"][0]["domain"] == "acme.example"
    assert body["external_ids"][0]["external_id"] == "A-1"
    assert body["addresses"][0]["city"] == "Leeds"
    assert body["owner"] == personas["mo"].pk

    read = client.get(created["Location"])
    assert read.status_code == 200 and read["ETag"] == '"1"'

    patched = client.patch(
        created["Location"],
        {"industry": "Widgets", "size": "10-49"},
        content_type=JSON,
        headers={"If-Match": '"1"'},
    )
    assert patched.status_code == 200
    assert patched.json()["industry"] == "Widgets" and patched.json()["version"] == 2
    assert patched["ETag"] == '"2"'

    stale = client.delete(created["Location"], headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert client.delete(created["Location"], headers={"If-Match": '"2"'}).status_code == 204
    assert not Account.objects.exists()


def test_account_parts(api_client, personas):
    account = make_account(owner=personas["bob"])
    client = api_client("bob")
    base = f"/api/v1/accounts/{account.pk}"
    domain = client.post(f"{base}/domains", {"domain": "acme.example"}, content_type=JSON)
    assert domain.status_code == 201, domain.content
    assert (
        client.patch(
            f"{base}/domains/{domain.json()['id']}", {"domain": "x.example"}, content_type=JSON
        ).status_code
        == 405
    )
    address = client.post(
        f"{base}/addresses", {"street": "1 Main St", "country": "DE"}, content_type=JSON
    )
    assert address.status_code == 201
    patched = client.patch(
        f"{base}/addresses/{address.json()['id']}", {"postal_code": "10115"}, content_type=JSON
    )
    assert patched.json()["postal_code"] == "10115"
    xid = client.post(
        f"{base}/external-ids", {"source": "crm", "external_id": "9"}, content_type=JSON
    )
    assert xid.status_code == 201
    detail = client.get(base).json()
    assert [d["domain"] for d in detail["domains"]] == ["acme.example"]
    assert detail["version"] == account.version + 4
    for part in ("domains", "addresses", "external-ids"):
        (item,) = client.get(f"{base}/{part}").json()
        assert client.delete(f"{base}/{part}/{item['id']}").status_code == 204


def test_domain_taken_by_another_account_is_422(api_client, personas):
    make_account(owner=personas["bob"], domains=["acme.example"])
    other = make_account(owner=personas["bob"])
    response = api_client("bob").post(
        f"/api/v1/accounts/{other.pk}/domains", {"domain": "acme.example"}, content_type=JSON
    )
    assert response.status_code == 422
    assert "domain" in response.json()["errors"]


def test_people_are_ranked(api_client, personas):
    account = make_account(owner=personas["bob"])
    second = make_contact(owner=personas["bob"], full_name="Zed Second")
    first = make_contact(owner=personas["bob"], full_name="Amy First")
    client = api_client("bob")
    client.post(
        f"/api/v1/contacts/{second.pk}/memberships",
        {"account": account.pk, "rank": 2},
        content_type=JSON,
    )
    client.post(
        f"/api/v1/contacts/{first.pk}/memberships",
        {"account": account.pk, "rank": 1, "buying_role": "buyer"},
        content_type=JSON,
    )
    people = client.get(f"/api/v1/accounts/{account.pk}/people").json()
    assert [p["contact"] for p in people] == [first.pk, second.pk]
    assert people[0]["full_name"] == "Amy First" and people[0]["buying_role"] == "buyer"


def test_people_hides_contacts_the_caller_may_not_see(api_client, personas):
    account = make_account(owner=personas["carl"])
    make_contact(owner=personas["bob"], account=account)
    mine = make_contact(owner=personas["carl"], account=account)
    people = api_client("carl").get(f"/api/v1/accounts/{account.pk}/people").json()
    assert [p["contact"] for p in people] == [mine.pk]


def test_marketing_does_not_see_account_notes(api_client, personas):
    account = make_account(owner=personas["bob"], notes="Discount up to 40%")
    detail = api_client("mia").get(f"/api/v1/accounts/{account.pk}").json()
    assert "notes" not in detail
    assert detail["name"] == account.name
    listed = api_client("mia").get("/api/v1/accounts").json()["items"][0]
    assert "notes" not in listed
    assert (
        api_client("bob").get(f"/api/v1/accounts/{account.pk}").json()["notes"]
        == "Discount up to 40%"
    )


def test_marketing_cannot_write_account_notes(api_client, personas):
    account = make_account(owner=personas["bob"])
    response = api_client("mia").patch(
        f"/api/v1/accounts/{account.pk}", {"notes": "peek"}, content_type=JSON
    )
    assert response.status_code == 422
    assert "notes" in response.json()["errors"]


def test_custom_fields_are_filtered_to_what_the_role_may_see(api_client, personas):
    DataField.objects.create(
        entity="account",
        key="credit_limit",
        label="Credit limit",
        type="number",
        view_roles=["sales", "manager"],
    )
    DataField.objects.create(entity="account", key="segment", label="Segment", type="text")
    account = make_account(owner=personas["bob"], custom={"credit_limit": 5000, "segment": "SMB"})
    assert api_client("bob").get(f"/api/v1/accounts/{account.pk}").json()["custom"] == {
        "credit_limit": 5000,
        "segment": "SMB",
    }
    assert api_client("mia").get(f"/api/v1/accounts/{account.pk}").json()["custom"] == {
        "segment": "SMB"
    }
    assert api_client("mia").get("/api/v1/accounts").json()["items"][0]["custom"] == {
        "segment": "SMB"
    }


def test_account_history_hides_changes_to_fields_the_role_may_not_see(api_client, personas):
    DataField.objects.create(
        entity="account",
        key="credit_limit",
        label="Credit limit",
        type="number",
        view_roles=["manager"],
    )
    account = make_account(owner=personas["bob"])
    api_client("alice").patch(
        f"/api/v1/accounts/{account.pk}",
        {"custom": {"credit_limit": 10}, "industry": "Oil"},
        content_type=JSON,
    )
    mine = api_client("mo").get(f"/api/v1/accounts/{account.pk}/history").json()[0]["changes"]
    assert mine == {"custom.credit_limit": [None, 10], "industry": ["", "Oil"]}
    theirs = api_client("sam").get(f"/api/v1/accounts/{account.pk}/history").json()[0]["changes"]
    assert theirs == {"industry": ["", "Oil"]}
