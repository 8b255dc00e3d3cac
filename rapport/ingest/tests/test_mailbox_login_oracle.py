"""A mailbox login connected by someone else is answered, to whoever does not hold its
password, exactly as a login nobody connected: the server's refusal (issue 11)."""

from __future__ import annotations

import re

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


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_during_an_outage_a_connected_login_answers_like_a_fresh_one(api_client, request):
    mine, server = request.getfixturevalue("account"), request.getfixturevalue("dovecot")
    bob, brenda = api_client("bob"), api_client("brenda")
    assert bob.post("/api/v1/mailboxes", api_data(mine), content_type=JSON).status_code == 201
    fresh = server.account()
    down = _closed_port()  # the server's host, nobody answering: an outage
    taken = brenda.post("/api/v1/mailboxes", api_data(mine, port=down), content_type=JSON)
    unknown = brenda.post("/api/v1/mailboxes", api_data(fresh, port=down), content_type=JSON)
    assert taken.status_code == 422
    assert _answer(taken, mine.username) == _answer(unknown, fresh.username)
    assert "could not be reached" in taken.json()["errors"]["host"][0]
    assert Mailbox.objects.count() == 1  # the fresh login waits for the server too


def test_during_an_outage_the_service_and_the_web_form_refuse_every_login_alike(
    client, personas, request
):
    from django.urls import reverse

    from rapport.audit.services import Actor
    from rapport.core.errors import ValidationFailed
    from rapport.ingest.mail import mailboxes
    from rapport.ingest.tests.test_imap import connect_mailbox, form_data

    mine, server = request.getfixturevalue("account"), request.getfixturevalue("dovecot")
    connect_mailbox(mine, owner=personas["bob"])
    fresh = server.account()
    down = _closed_port()
    answers = []
    for login in (mine, fresh):
        with pytest.raises(ValidationFailed) as refused:
            mailboxes.mailbox_create(
                actor=Actor(user=personas["brenda"], via="web"),
                data={**api_data(login, port=down), "name": "Mine"},
            )
        answers.append((refused.value.message, refused.value.errors))
    assert answers[0] == answers[1]
    client.force_login(personas["brenda"])
    pages = [
        client.post(reverse("ingest:mailbox-create"), form_data(login, port=str(down)))
        for login in (mine, fresh)
    ]
    assert [p.status_code for p in pages] == [422, 422]
    shown = [
        re.sub(r"[A-Za-z0-9]{64}", "CSRF", _answer(p, login.username)[1])
        for p, login in zip(pages, (mine, fresh), strict=True)
    ]
    assert shown[0] == shown[1] and "could not be reached" in shown[0]
    # Moving a mailbox of one's own onto the taken login during the outage: the same answer.
    own = connect_mailbox(fresh, owner=personas["brenda"])
    with pytest.raises(ValidationFailed) as moved:
        mailboxes.mailbox_update(
            actor=Actor(user=personas["brenda"], via="web"),
            mailbox_id=own.pk,
            data={"username": mine.username, "port": down, "password": "guess"},
        )
    assert "could not be reached" in moved.value.errors["host"][0]
    assert Mailbox.objects.count() == 2
