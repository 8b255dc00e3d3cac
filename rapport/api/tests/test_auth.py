from django.test import Client

from rapport.audit.services import Actor
from rapport.users.services import token_create, token_revoke, user_deactivate

SYSTEM = Actor(user=None, via="system")


def _assert_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    return body


def test_bearer_token_authenticates_as_its_user(personas):
    _, secret = token_create(actor=SYSTEM, user=personas["bob"], name="phone system")
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "bob"
    assert body["role"] == "sales"
    assert body["teams"] == ["North"]
    assert "owner" not in body
    assert body["permissions"]["contact"] == ["view", "add", "change"]


def test_anonymous_request_is_401_problem(db):
    response = Client().get("/api/v1/contacts")
    _assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401(db):
    response = Client().get("/api/v1/me", headers={"Authorization": "Bearer rap_nonsense"})
    _assert_problem(response, 401)


def test_revoked_token_is_401(personas):
    token, secret = token_create(actor=SYSTEM, user=personas["bob"], name="old")
    token_revoke(actor=SYSTEM, token_id=token.pk)
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    _assert_problem(response, 401)


def test_deactivated_users_token_is_401(personas):
    _, secret = token_create(actor=SYSTEM, user=personas["bob"], name="laptop")
    user_deactivate(actor=SYSTEM, user=personas["bob"])
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    _assert_problem(response, 401)


def test_inactive_users_session_is_401(personas):
    client = Client()
    client.force_login(personas["charlie"])
    _assert_problem(client.get("/api/v1/me"), 401)


def test_bad_token_is_401_even_with_a_valid_session(personas):
    client = Client(headers={"Authorization": "Bearer rap_wrong"})
    client.force_login(personas["alice"])
    _assert_problem(client.get("/api/v1/me"), 401)


def test_session_authenticates_reads(personas):
    client = Client()
    client.force_login(personas["mia"])
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["role"] == "marketing"


def test_session_post_without_csrf_token_is_refused(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["alice"])
    response = client.post("/api/v1/accounts", {"name": "Acme"}, content_type="application/json")
    body = _assert_problem(response, 403)
    assert "CSRF" in body["detail"]
    from rapport.customers.models import Account

    assert not Account.objects.exists()


def test_session_post_with_csrf_token_is_accepted(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["alice"])
    client.get("/api/v1/me")  # any page; the test sets the CSRF cookie below
    from django.middleware.csrf import _get_new_csrf_string

    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    response = client.post(
        "/api/v1/accounts",
        {"name": "Acme"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201, response.content


def test_bearer_post_needs_no_csrf_token(api_client):
    client = api_client("alice")
    client.handler.enforce_csrf_checks = True
    response = client.post("/api/v1/accounts", {"name": "Acme"}, content_type="application/json")
    assert response.status_code == 201


def test_changes_through_the_api_are_audited_as_api_with_the_token(api_client):
    from rapport.audit.models import AuditEntry

    response = api_client("alice").post(
        "/api/v1/accounts", {"name": "Acme"}, content_type="application/json"
    )
    entry = AuditEntry.objects.get(entity_kind="account", entity_id=response.json()["id"])
    assert entry.via == "api"
    assert entry.actor_name == "alice"
    assert entry.context["token"] == "tests"
