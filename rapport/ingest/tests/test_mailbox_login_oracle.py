"""A mailbox login connected by someone else is answered, to whoever does not hold its
password, exactly as a login nobody connected: the server's refusal (issue 11)."""

from __future__ import annotations

import pytest

from rapport.ingest.models import Mailbox
from rapport.ingest.tests.test_imap import account, api_data, dovecot  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

JSON = "application/json"


def _answer(response, username: str) -> tuple[int, str]:
    return response.status_code, response.content.decode().replace(username, "USER")


def test_a_connected_login_answers_like_a_fresh_one_without_its_password(api_client, request):
    mine, server = request.getfixturevalue("account"), request.getfixturevalue("dovecot")
    bob, brenda = api_client("bob"), api_client("brenda")
    assert bob.post("/api/v1/mailboxes", api_data(mine), content_type=JSON).status_code == 201
    fresh = server.account()
    taken = brenda.post("/api/v1/mailboxes", api_data(mine, password="wrong"), content_type=JSON)
    unknown = brenda.post("/api/v1/mailboxes", api_data(fresh, password="wrong"), content_type=JSON)
    assert taken.status_code == 422
    assert _answer(taken, mine.username) == _answer(unknown, fresh.username)
    assert "already connected" not in taken.content.decode()
    assert "password" in taken.json()["errors"]
    # Whoever holds the password could read the mailbox anyway: they are told.
    holder = brenda.post("/api/v1/mailboxes", api_data(mine), content_type=JSON)
    assert holder.status_code == 422 and "already connected" in holder.content.decode()
    assert Mailbox.objects.count() == 1
