"""The duplicate check before a create: POST /duplicates/check and `on_duplicate` on
POST /contacts and POST /accounts."""

from rapport.customers.models import Account, Contact
from rapport.customers.tests.factories import make_account, make_contact

JSON = "application/json"


def _robert(personas) -> Contact:
    return make_contact(
        owner=personas["bob"],
        given_name="Robert",
        family_name="Smith",
        emails=["robert.smith@acme.com"],
        phones=["+44 20 7946 0018"],
    )


BOB_SMITH = {
    "full_name": "Bob Smith",
    "phones": [{"number": "020 7946 0018", "region": "GB"}],
}


def test_check_finds_robert_smith_for_bob_smith_with_the_same_phone_in_another_format(
    api_client, personas
):
    robert = _robert(personas)
    make_contact(owner=personas["bob"], full_name="Alice Jones", phones=["+44 20 7946 0999"])
    response = api_client("bob").post(
        "/api/v1/duplicates/check", {"kind": "contact", "record": BOB_SMITH}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    found = response.json()
    assert [d["id"] for d in found] == [robert.pk]
    best = found[0]
    assert best["kind"] == "contact" and best["label"] == "Robert Smith"
    assert 0.5 <= best["probability"] <= 1 and best["percent"] == round(best["probability"] * 100)
    phone = next(e for e in best["evidence"] if e["field"] == "phone")
    assert phone["weight"] > 0 and phone["words"]


def test_check_of_an_account_finds_the_same_domain(api_client, personas):
    acme = make_account(owner=personas["bob"], name="Acme Widgets Ltd", domains=["acme.com"])
    response = api_client("bob").post(
        "/api/v1/duplicates/check",
        {"kind": "account", "record": {"name": "ACME Widgets", "domains": ["www.acme.com"]}},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    assert [d["id"] for d in response.json()] == [acme.pk]


def test_check_only_finds_records_the_caller_may_see(api_client, personas):
    # carl is in the South team: bob's North contact is not his to see.
    _robert(personas)
    response = api_client("carl").post(
        "/api/v1/duplicates/check", {"kind": "contact", "record": BOB_SMITH}, content_type=JSON
    )
    assert response.status_code == 200
    assert response.json() == []


def test_check_refuses_an_unknown_field_in_the_record(api_client, personas):
    response = api_client("bob").post(
        "/api/v1/duplicates/check",
        {"kind": "contact", "record": {"full_name": "Bob Smith", "shoe_size": 9}},
        content_type=JSON,
    )
    assert response.status_code == 422
    assert any("shoe_size" in path for path in response.json()["errors"])


def test_refuse_gives_409_with_the_candidates_and_creates_nothing(api_client, personas):
    robert = _robert(personas)
    before = Contact.objects.count()
    response = api_client("bob").post(
        "/api/v1/contacts?on_duplicate=refuse", BOB_SMITH, content_type=JSON
    )
    assert response.status_code == 409, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert [d["id"] for d in body["duplicates"]] == [robert.pk]
    assert "Robert Smith" in body["detail"]
    assert Contact.objects.count() == before


def test_refuse_creates_when_nothing_is_alike(api_client, personas):
    _robert(personas)
    response = api_client("bob").post(
        "/api/v1/contacts?on_duplicate=refuse",
        {"full_name": "Grace Hopper", "emails": [{"email": "grace@navy.mil"}]},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    assert "duplicates" not in response.json()
    assert Contact.objects.filter(full_name="Grace Hopper").exists()


def test_report_creates_and_lists_the_candidates(api_client, personas):
    robert = _robert(personas)
    response = api_client("bob").post(
        "/api/v1/contacts?on_duplicate=report", BOB_SMITH, content_type=JSON
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [d["id"] for d in body["duplicates"]] == [robert.pk]  # not the new contact itself
    assert Contact.objects.filter(pk=body["id"], full_name="Bob Smith").exists()


def test_report_with_nothing_alike_gives_an_empty_list(api_client, personas):
    response = api_client("bob").post(
        "/api/v1/contacts?on_duplicate=report", {"full_name": "Grace Hopper"}, content_type=JSON
    )
    assert response.status_code == 201
    assert response.json()["duplicates"] == []


def test_by_default_a_create_does_not_look_for_duplicates(api_client, personas):
    _robert(personas)
    response = api_client("bob").post("/api/v1/contacts", BOB_SMITH, content_type=JSON)
    assert response.status_code == 201, response.content
    assert "duplicates" not in response.json()
    assert Contact.objects.filter(family_name="Smith").count() == 2


def test_an_unknown_on_duplicate_value_is_refused(api_client, personas):
    response = api_client("bob").post(
        "/api/v1/contacts?on_duplicate=merge", {"full_name": "Grace Hopper"}, content_type=JSON
    )
    assert response.status_code == 422
    assert "on_duplicate" in response.json()["errors"]
    assert not Contact.objects.filter(full_name="Grace Hopper").exists()


def test_account_create_refuses_and_reports_a_likely_duplicate(api_client, personas):
    acme = make_account(
        owner=personas["bob"], name="Acme Widgets Ltd", country="GB", phone="+44 20 7946 0018"
    )
    client = api_client("bob")
    payload = {"name": "ACME Widgets", "country": "United Kingdom", "phone": "020 7946 0018"}
    refused = client.post("/api/v1/accounts?on_duplicate=refuse", payload, content_type=JSON)
    assert refused.status_code == 409, refused.content
    assert [d["id"] for d in refused.json()["duplicates"]] == [acme.pk]
    assert Account.objects.count() == 1
    reported = client.post("/api/v1/accounts?on_duplicate=report", payload, content_type=JSON)
    assert reported.status_code == 201, reported.content
    assert [d["id"] for d in reported.json()["duplicates"]] == [acme.pk]
    assert Account.objects.count() == 2


def test_the_create_schema_documents_on_duplicate_and_the_409(db):
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    create = schema["paths"]["/api/v1/contacts"]["post"]
    param = next(p for p in create["parameters"] if p["name"] == "on_duplicate")
    assert param["schema"]["enum"] == ["ignore", "report", "refuse"]
    assert param["schema"]["default"] == "ignore"
    assert "409" in create["responses"]
    created = schema["components"]["schemas"]["ContactCreated"]
    assert "duplicates" in created["properties"]
    assert "duplicates" not in created.get("required", [])
