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
