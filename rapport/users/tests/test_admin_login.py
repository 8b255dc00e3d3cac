"""The Django admin site sits behind the app's login: the same form, the same throttle."""

from __future__ import annotations

from django.urls import reverse

from rapport.users.models import LoginFailure

ADMIN_LOGIN = "/admin/login/"


def _post(client, url, username, password, **extra):
    return client.post(url, {"username": username, "password": password, **extra})


def _staff(personas):
    alice = personas["alice"]
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    return alice


def test_twelve_wrong_passwords_through_the_admin_login_then_the_right_one_is_throttled(
    client, personas
):
    _staff(personas)
    statuses = [_post(client, ADMIN_LOGIN, "alice", f"guess-{i}").status_code for i in range(12)]

    response = _post(client, ADMIN_LOGIN, "alice", "alice-password-1")

    # Exactly as the app's login answers: five refusals, then throttled, the right password too.
    assert statuses == [401] * 5 + [429] * 7
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginFailure.objects.filter(username="alice").count() == 5
    assert client.get("/admin/").status_code == 302


def test_failures_on_either_login_count_together(client, personas):
    _staff(personas)
    for _ in range(3):
        assert _post(client, reverse("users:login"), "alice", "wrong").status_code == 401
    for _ in range(2):
        assert _post(client, ADMIN_LOGIN, "alice", "wrong").status_code == 401

    assert _post(client, reverse("users:login"), "alice", "alice-password-1").status_code == 429
    assert _post(client, ADMIN_LOGIN, "alice", "alice-password-1").status_code == 429


def test_the_admin_site_sends_a_visitor_to_the_apps_login_form(client, personas):
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert f'action="{reverse("users:login")}"' in html  # the app's own form
    assert 'name="next" value="/admin/"' in html


def test_staff_log_in_through_the_admin_login_and_reach_the_admin(client, personas):
    _staff(personas)
    response = _post(client, ADMIN_LOGIN, "alice", "alice-password-1")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    # Through the app's form, as the browser posts it from /admin/login/.
    client.logout()
    response = _post(client, reverse("users:login"), "alice", "alice-password-1", next="/admin/")
    assert response["Location"] == "/admin/"


def test_a_logged_in_non_staff_user_is_told_not_sent_round_in_circles(client, personas):
    client.force_login(personas["bob"])
    assert client.get("/admin/")["Location"].startswith(ADMIN_LOGIN)

    response = client.get(ADMIN_LOGIN + "?next=/admin/")

    assert response.status_code == 403
    assert "who may not use the admin site" in response.content.decode()
