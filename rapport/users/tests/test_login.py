"""Logging in and out, throttling, CSRF, and a user's API tokens."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from rapport.users.models import ApiToken, LoginFailure

LOGIN = "/login/"


def _login(client, username, password, **extra):
    return client.post(reverse("users:login"), {"username": username, "password": password, **extra})


def test_login_page_renders_with_csp(client, db):
    response = client.get(reverse("users:login"))
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_login_succeeds_and_renews_the_session(client, personas):
    client.get(reverse("users:login"))
    client.session.save()
    before = client.session.session_key
    response = _login(client, "bob", "bob-password-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:contact-list")
    assert client.session["_auth_user_id"] == str(personas["bob"].pk)
    assert client.session.session_key != before


def test_login_follows_a_safe_next_only(client, personas):
    response = _login(client, "bob", "bob-password-1", next="/accounts/")
    assert response["Location"] == "/accounts/"
    client.logout()
    response = _login(client, "bob", "bob-password-1", next="https://evil.example/")
    assert response["Location"] == reverse("customers:contact-list")


def test_wrong_password_is_refused_and_counted(client, personas):
    response = _login(client, "bob", "nope")
    assert response.status_code == 401
    assert "do not match" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginFailure.objects.filter(username="bob").count() == 1


def test_inactive_user_cannot_log_in(client, personas):
    response = _login(client, "charlie", "charlie-password-1")
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session


def test_after_five_failures_even_the_right_password_is_refused(client, personas):
    for _ in range(5):
        assert _login(client, "bob", "wrong").status_code == 401
    response = _login(client, "bob", "bob-password-1")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Refused before the password is checked: no new failure is counted either.
    assert LoginFailure.objects.filter(username="bob").count() == 5


def test_success_clears_earlier_failures(client, personas):
    for _ in range(3):
        _login(client, "bob", "wrong")
    _login(client, "bob", "bob-password-1")
    assert not LoginFailure.objects.filter(username="bob").exists()


def test_logout_is_post_only_and_ends_the_session(client, personas):
    client.force_login(personas["bob"])
    assert client.get(reverse("users:logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("users:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("users:login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("customers:contact-list")).status_code == 302


def test_csrf_is_enforced_on_login_and_logout(personas):
    client = Client(enforce_csrf_checks=True)
    assert _login(client, "bob", "bob-password-1").status_code == 403
    client.force_login(personas["bob"])
    assert client.post(reverse("users:logout")).status_code == 403
    assert "_auth_user_id" in client.session


def test_login_with_csrf_token_works(personas):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("users:login"))
    token = client.cookies["csrftoken"].value
    response = _login(client, "bob", "bob-password-1", csrfmiddlewaretoken=token)
    assert response.status_code == 302


def test_create_token_shows_the_secret_once(client, personas):
    client.force_login(personas["bob"])
    response = client.post(reverse("users:tokens"), {"name": "phone system"})
    page = response.content.decode()
    token = ApiToken.objects.get(user=personas["bob"])
    assert "shown only this once" in page and token.prefix in page
    assert response["Cache-Control"] == "no-store"
    again = client.get(reverse("users:tokens")).content.decode()
    assert "phone system" in again and "shown only this once" not in again


def test_token_needs_a_name(client, personas):
    client.force_login(personas["bob"])
    response = client.post(reverse("users:tokens"), {"name": " "})
    assert response.status_code == 422
    assert not ApiToken.objects.exists()


def test_revoke_own_token_but_not_someone_elses(client, personas):
    from rapport.audit.services import Actor
    from rapport.users.services import token_create

    mine, _ = token_create(actor=Actor(personas["bob"]), user=personas["bob"], name="mine")
    theirs, _ = token_create(actor=Actor(personas["carl"]), user=personas["carl"], name="theirs")
    client.force_login(personas["bob"])
    assert client.get(reverse("users:token-revoke", args=[mine.pk])).status_code == 405
    assert client.post(reverse("users:token-revoke", args=[mine.pk])).status_code == 302
    assert client.post(reverse("users:token-revoke", args=[theirs.pk])).status_code == 404
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
