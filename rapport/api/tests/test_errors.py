import pytest

from rapport.customers.models import Account, Contact
from rapport.customers.tests.factories import make_contact

JSON = "application/json"


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


def test_unknown_top_level_field_is_422_naming_it(api_client):
    response = api_client("alice").post(
        "/api/v1/contacts", {"full_name": "Ada Lovelace", "shoe_size": 7}, content_type=JSON
    )
    assert _problem(response, 422)["errors"] == {"shoe_size": ["Unknown field."]}
    assert not Contact.objects.exists()


def test_unknown_nested_field_is_422_with_its_path(api_client):
    response = api_client("alice").post(
        "/api/v1/contacts",
        {"full_name": "Ada Lovelace", "emails": [{"email": "a@example.com", "label": "x"}]},
        content_type=JSON,
    )
    assert _problem(response, 422)["errors"] == {"emails[0].label": ["Unknown field."]}


@pytest.mark.parametrize(
    ("part", "item", "path"),
    [
        ("emails", {"email": "not-an-address"}, "emails[0].email"),
        ("phones", {"number": "12"}, "phones[0].number"),
        ("addresses", {"city": "Nowhere", "country": "Atlantis"}, "addresses[0].country"),
    ],
)
def test_invalid_part_values_are_422_naming_the_field_path(api_client, part, item, path):
    response = api_client("alice").post(
        "/api/v1/contacts", {"full_name": "Ada Lovelace", part: [item]}, content_type=JSON
    )
    body = _problem(response, 422)
    assert list(body["errors"]) == [path]
    assert body["errors"][path][0]
    assert not Contact.objects.exists()  # nothing half-saved


def test_second_item_error_names_its_index(api_client):
    response = api_client("alice").post(
        "/api/v1/contacts",
        {"full_name": "Ada Lovelace", "emails": [{"email": "a@example.com"}, {"email": "bad"}]},
        content_type=JSON,
    )
    assert list(_problem(response, 422)["errors"]) == ["emails[1].email"]


def test_account_create_nested_errors(api_client):
    response = api_client("alice").post(
        "/api/v1/accounts",
        {"name": "Acme", "domains": ["not a domain"], "addresses": [{"country": "Nowhere"}]},
        content_type=JSON,
    )
    body = _problem(response, 422)
    assert set(body["errors"]) == {"domains[0].domain", "addresses[0].country"}
    assert not Account.objects.exists()


def test_wrong_type_is_422_naming_the_field(api_client):
    response = api_client("alice").post(
        "/api/v1/contacts", {"full_name": "Ada Lovelace", "tags": "vip"}, content_type=JSON
    )
    assert list(_problem(response, 422)["errors"]) == ["tags"]


def test_bad_choice_is_422(api_client):
    response = api_client("alice").post(
        "/api/v1/contacts", {"full_name": "Ada Lovelace", "lifecycle": "zombie"}, content_type=JSON
    )
    assert list(_problem(response, 422)["errors"]) == ["lifecycle"]


def test_missing_name_is_422_from_the_service(api_client):
    response = api_client("alice").post("/api/v1/contacts", {"job_title": "CEO"}, content_type=JSON)
    assert "family_name" in _problem(response, 422)["errors"]


def test_unparseable_body_is_400_problem(api_client):
    response = api_client("alice").post("/api/v1/contacts", "{not json", content_type=JSON)
    _problem(response, 400)


def test_query_parameter_errors_name_the_parameter(api_client):
    client = api_client("alice")
    assert list(_problem(client.get("/api/v1/contacts?size=0"), 422)["errors"]) == ["size"]
    assert list(_problem(client.get("/api/v1/contacts?size=abc"), 422)["errors"]) == ["size"]
    assert list(_problem(client.get("/api/v1/contacts?sort=shoe"), 422)["errors"]) == ["sort"]
    assert list(_problem(client.get("/api/v1/contacts?cursor=zzz"), 422)["errors"]) == ["cursor"]


def test_unknown_record_is_404_problem(api_client):
    _problem(api_client("alice").get("/api/v1/contacts/999999"), 404)
    _problem(api_client("alice").get("/api/v1/accounts/999999/domains"), 404)
    _problem(api_client("alice").get("/api/v1/datafields/999999"), 404)


def test_an_id_past_the_databases_integer_range_is_404_problem(api_client):
    client = api_client("alice")
    huge = 2**64  # SQLite cannot even bind it; found by schemathesis
    _problem(client.get(f"/api/v1/contacts/{huge}"), 404)
    _problem(client.get(f"/api/v1/accounts/{huge}/domains"), 404)
    _problem(client.get(f"/api/v1/timeline/entries/{huge}"), 404)


def test_forbidden_action_is_403_problem(api_client, personas):
    contact = make_contact(owner=personas["bob"])
    body = _problem(
        api_client("rita").patch(
            f"/api/v1/contacts/{contact.pk}", {"job_title": "X"}, content_type=JSON
        ),
        403,
    )
    assert body["errors"] == {}
