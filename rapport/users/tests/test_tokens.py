import pytest

from conftest import actor
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.users.models import ApiToken
from rapport.users.services import token_authenticate, token_create, token_revoke, user_deactivate


def test_a_token_authenticates_its_owner_and_only_its_digest_is_stored(bob):
    token, secret = token_create(actor=actor(bob), user=bob, name="phone system")
    assert token_authenticate(secret) == bob
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in (stored.digest, stored.prefix, stored.name)
    assert stored.digest == ApiToken.digest_of(secret)


def test_a_revoked_token_no_longer_works(bob):
    token, secret = token_create(actor=actor(bob), user=bob, name="x")
    token_revoke(actor=actor(bob), token_id=token.pk)
    assert token_authenticate(secret) is None


def test_a_deactivated_users_token_and_sessions_stop_working(personas, client):
    bob = personas["bob"]
    _, secret = token_create(actor=actor(bob), user=bob, name="x")
    client.force_login(bob)
    from django.contrib.sessions.models import Session

    assert Session.objects.count() == 1
    user_deactivate(actor=actor(personas["alice"]), user=bob)
    assert token_authenticate(secret) is None
    assert Session.objects.count() == 0


def test_users_cannot_create_tokens_for_others(personas):
    with pytest.raises(PermissionDenied):
        token_create(actor=actor(personas["bob"]), user=personas["carl"], name="x")


def test_a_token_needs_a_name(bob):
    with pytest.raises(ValidationFailed):
        token_create(actor=actor(bob), user=bob, name="  ")


@pytest.mark.parametrize("secret", ["", "rap_wrong", "Bearer x", "x" * 500])
def test_unknown_tokens_are_refused(secret, db):
    assert token_authenticate(secret) is None


def test_deactivating_a_user_in_the_admin_ends_their_sessions(personas, client):
    from django.contrib.sessions.models import Session
    from django.test import Client

    alice, bob = personas["alice"], personas["bob"]
    alice.is_staff = alice.is_superuser = True
    alice.save()
    bobs_browser = Client()
    bobs_browser.force_login(bob)
    client.force_login(alice)
    page = client.get(f"/admin/users/user/{bob.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("is_active", "groups", "user_permissions", "teams", "last_login", "date_joined")}
    data.update({"date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "role": bob.role})
    response = client.post(f"/admin/users/user/{bob.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    bob.refresh_from_db()
    assert not bob.is_active
    assert not Session.objects.filter(session_key=bobs_browser.session.session_key).exists()


def test_last_use_is_written_at_most_once_a_minute(bob):
    import datetime as dt

    from django.utils import timezone

    token, secret = token_create(actor=actor(bob), user=bob, name="x")
    token_authenticate(secret)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    token_authenticate(secret)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    token_authenticate(secret)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_changes_made_with_a_token_name_it_in_the_audit_trail(api_client, bob):
    from rapport.audit.models import AuditEntry

    response = api_client("bob").post(
        "/api/v1/contacts", {"full_name": "Ann Lee"}, content_type="application/json"
    )
    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="create", object_kind="contact")
    assert entry.via == "api" and entry.context["token"] == "tests"
    assert entry.actor == bob
