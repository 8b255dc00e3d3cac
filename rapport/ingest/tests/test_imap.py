"""Polling IMAP mailboxes, against a real Dovecot started on loopback (tests/dovecot.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed, VersionConflict
from rapport.customers.tests.factories import make_contact
from rapport.ingest import tasks
from rapport.ingest.mail import imap, mailboxes
from rapport.ingest.mail import services as mail
from rapport.ingest.mail.secrets import decrypt
from rapport.ingest.models import Mailbox, MailboxFolder
from rapport.ingest.tests.dovecot import DOVECOT, Dovecot, DroppingProxy
from rapport.timeline.models import Entry
from rapport.timeline.selectors import timeline

SAMPLES = Path(__file__).parent / "mail"
SYSTEM = Actor(user=None, via="system")
_numbers = itertools.count(1)


# --- the server ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot():
    if not os.path.exists(DOVECOT) or not shutil.which("doveadm"):
        pytest.skip("Dovecot is not installed (Debian package dovecot-imapd)")
    server = Dovecot()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def account(dovecot, db):
    return dovecot.account()


@pytest.fixture
def jane(db):
    return make_contact(full_name="Jane Doe", emails=["jane.doe@acme.com"])


def message(
    subject: str = "", *, sender: str = "jane.doe@acme.com", to: str = "alice@example.org"
) -> bytes:
    n = next(_numbers)
    subject = subject or f"Message {n}"
    return (
        f"From: Jane Doe <{sender}>\r\n"
        f"To: Alice Admin <{to}>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: Mon, 3 Mar 2025 10:{n % 60:02d}:00 +0100\r\n"
        f"Message-ID: <imap-test-{n}-{os.getpid()}@acme.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Hello Alice,\r\n\r\nthis is {subject}.\r\n"
        + "Some text to make it longer. " * 20
        + "\r\n\r\nJane\r\n"
    ).encode()


def subjects() -> list[str]:
    return sorted(Entry.objects.filter(source=mail.SOURCE).values_list("summary", flat=True))


def connect_mailbox(account, *, owner=None, folders=("INBOX",), port=None, **extra) -> Mailbox:
    actor = Actor(user=owner, via="web") if owner is not None else SYSTEM
    data = {
        "name": f"Mail of {account.username}",
        "host": account.server.host,
        "port": port or account.server.port,
        "security": "none",
        "username": account.username,
        "password": account.password,
        "folders": list(folders),
        **extra,
    }
    return mailboxes.mailbox_create(actor=actor, data=data, shared=owner is None)


def stored_as(mailbox: Mailbox, **settings) -> Mailbox:
    """A mailbox saved while its server answered, whose server changed or went down since
    (saving checks the login, so such settings can no longer be saved as they are)."""
    Mailbox.objects.filter(pk=mailbox.pk).update(**settings)
    mailbox.refresh_from_db()
    return mailbox


def poll(mailbox: Mailbox, **kwargs) -> imap.PollSummary:
    summary = imap.poll(mailbox.pk, actor=SYSTEM, timeout=10, **kwargs)
    mailbox.refresh_from_db()
    return summary


def owned_by(contact, user) -> None:
    type(contact).objects.filter(pk=contact.pk).update(owner=user)


def folder(mailbox: Mailbox, name: str = "INBOX") -> MailboxFolder:
    return MailboxFolder.objects.get(mailbox=mailbox, name=name)


# --- polling -------------------------------------------------------------------------------


def test_new_messages_land_on_the_contacts_timeline(account, jane, alice):
    account.append("INBOX", message("Quote for 40 seats"), message("Delivery date"))
    mailbox = connect_mailbox(account, owner=alice)

    summary = poll(mailbox)

    assert summary.ok, summary.error_text()
    assert (summary.fetched, summary.stored) == (2, 2)
    links = timeline(actor=alice, kind="contact", pk=jane.pk).items
    assert sorted(link.entry.summary for link in links) == ["Delivery date", "Quote for 40 seats"]
    assert {link.role for link in links} == {"from"}
    state = folder(mailbox)
    assert (state.last_uid, state.messages_seen, state.messages_stored) == (2, 2, 2)
    assert state.uid_validity == account.uid_validity("INBOX")
    assert mailbox.last_polled_at is not None and mailbox.last_error == ""
    assert mailbox.polling_since is None


def test_a_second_poll_fetches_only_what_is_new(account, jane):
    account.append("INBOX", message("First"))
    mailbox = connect_mailbox(account)
    assert poll(mailbox).stored == 1

    again = poll(mailbox)
    assert (again.fetched, again.stored) == (0, 0)  # "UID 2:*" still answers UID 1: ignored

    account.append("INBOX", message("Second"))
    third = poll(mailbox)
    assert (third.fetched, third.stored) == (1, 1)
    assert subjects() == ["First", "Second"]
    assert folder(mailbox).last_uid == 2


def test_polling_does_not_mark_messages_read(account, jane):
    uids = account.append("INBOX", message(), message())
    mailbox = connect_mailbox(account)
    assert poll(mailbox).stored == 2
    flags = account.flags("INBOX")
    assert set(flags) == set(uids)
    assert all("\\Seen" not in f for f in flags.values())


def test_only_the_chosen_folders_are_read(account, jane):
    account.create("Customer mail")
    account.create("Private")
    account.append("INBOX", message("In the inbox"))
    account.append("Customer mail", message("In customers"))
    account.append("Private", message("Private matter"))
    mailbox = connect_mailbox(account, folders=["INBOX", "Customer mail"])

    summary = poll(mailbox)

    assert [f.name for f in summary.folders] == ["INBOX", "Customer mail"]
    assert subjects() == ["In customers", "In the inbox"]
    assert set(mailbox.folder_states.values_list("name", flat=True)) == {"INBOX", "Customer mail"}


def test_the_folder_list_comes_from_the_server(account):
    account.create("Customers")
    account.create("Archive.2024")
    account.create('Sent "Items"')
    names = imap.list_folders(
        host=account.server.host,
        port=account.server.port,
        security="none",
        username=account.username,
        password=account.password,
    )
    assert names[0] == "INBOX"
    assert set(names) == {"INBOX", "Customers", "Archive.2024", 'Sent "Items"'}


def test_a_changed_uidvalidity_reads_the_folder_again_without_duplicates(account, jane):
    account.append("INBOX", message("Before the rebuild"))
    mailbox = connect_mailbox(account)
    assert poll(mailbox).stored == 1
    old = folder(mailbox).uid_validity

    account.set_uid_validity("INBOX", old + 1000)
    account.append("INBOX", message("After the rebuild"))
    summary = poll(mailbox)

    report = summary.folders[0]
    assert report.uid_validity_changed
    assert (report.fetched, report.stored, report.duplicates) == (2, 1, 1)
    assert subjects() == ["After the rebuild", "Before the rebuild"]
    state = folder(mailbox)
    assert (state.uid_validity, state.last_uid) == (old + 1000, 2)


def test_a_broken_message_is_reported_and_skipped(account, jane):
    broken = (SAMPLES / "broken.eml").read_bytes()
    uids = account.append("INBOX", message("Before"), broken, message("After"))
    mailbox = connect_mailbox(account)

    summary = poll(mailbox)

    assert subjects() == ["After", "Before"]
    assert summary.problems == [
        f"INBOX UID {uids[1]}: The message is broken: "
        + summary.problems[0].split(": The message is broken: ")[1]
    ]
    assert "no sender" in summary.problems[0]
    assert f"INBOX UID {uids[1]}" in mailbox.last_error and "no sender" in mailbox.last_error
    assert mailbox.last_error_at is not None
    state = folder(mailbox)
    assert (state.last_uid, state.messages_seen, state.messages_stored) == (uids[2], 3, 2)
    logged = AuditEntry.objects.get(
        entity_kind="mailbox", entity_id=mailbox.pk, action="mail_unreadable"
    )
    assert f"UID {uids[1]}" in logged.changes["message"][1]
    # It does not block the folder: the next poll has nothing left to do and clears the error.
    again = poll(mailbox)
    assert again.ok and again.fetched == 0
    assert mailbox.last_error == ""


def test_a_message_from_nobody_known_is_counted_not_stored(account, jane):
    account.append(
        "INBOX", message("Spam", sender="someone@elsewhere.test", to="other@elsewhere.test")
    )
    mailbox = connect_mailbox(account)
    summary = poll(mailbox)
    assert (summary.fetched, summary.stored, summary.folders[0].unmatched) == (1, 0, 1)
    assert folder(mailbox).last_uid == 1


def test_a_dropped_connection_keeps_what_was_stored_and_the_next_poll_resumes(account, jane):
    account.append("INBOX", *[message(f"Number {i}") for i in range(1, 6)])
    proxy = DroppingProxy(account.server.port)
    try:
        mailbox = connect_mailbox(account, port=proxy.port)
        proxy.arm(3)  # cut in the middle of the third message's data
        summary = poll(mailbox, batch=1)

        assert proxy.cuts == 1
        assert summary.stored == 2
        assert subjects() == ["Number 1", "Number 2"]
        assert folder(mailbox).last_uid == 2
        assert "broke while reading folder 'INBOX'" in mailbox.last_error
        assert "up to UID 2" in mailbox.last_error
        assert "closed the connection" in mailbox.last_error
        assert mailbox.polling_since is None  # the claim is released for the next poll

        proxy.disarm()
        resumed = poll(mailbox, batch=1)
        assert resumed.ok and resumed.stored == 3
    finally:
        proxy.close()
    assert subjects() == [f"Number {i}" for i in range(1, 6)]
    assert Entry.objects.filter(source=mail.SOURCE).count() == 5  # each exactly once
    assert mailbox.last_error == ""


def test_a_dropped_connection_in_a_batch_keeps_the_earlier_batches(account, jane):
    account.append("INBOX", *[message(f"Batch {i}") for i in range(1, 6)])
    proxy = DroppingProxy(account.server.port)
    try:
        mailbox = connect_mailbox(account, port=proxy.port)
        proxy.arm(3)  # the second batch of two is cut in its first message
        poll(mailbox, batch=2)
        assert subjects() == ["Batch 1", "Batch 2"]
        proxy.disarm()
        poll(mailbox, batch=2)
    finally:
        proxy.close()
    assert Entry.objects.filter(source=mail.SOURCE).count() == 5


def test_a_server_that_stops_answering_times_out_and_keeps_the_progress(account, jane):
    account.append("INBOX", *[message(f"Slow {i}") for i in range(1, 4)])
    proxy = DroppingProxy(account.server.port)
    try:
        mailbox = connect_mailbox(account, port=proxy.port)
        proxy.arm(2, hang=True)  # the second message never finishes arriving
        summary = imap.poll(mailbox.pk, actor=SYSTEM, timeout=1, batch=1)
        mailbox.refresh_from_db()
        assert summary.stored == 1
        assert "the server did not answer in time" in mailbox.last_error
        assert "up to UID 1" in mailbox.last_error
        proxy.disarm()
        assert poll(mailbox, batch=1).stored == 2
    finally:
        proxy.close()
    assert subjects() == ["Slow 1", "Slow 2", "Slow 3"]


def test_a_wrong_password_is_a_clear_error(account):
    mailbox = connect_mailbox(account)
    Mailbox.objects.filter(pk=mailbox.pk).update(password_encrypted=mailboxes.encrypt("wrong"))
    summary = poll(mailbox)
    assert not summary.ok
    assert f"refused the login of {account.username!r}" in mailbox.last_error
    assert "Check the user name and password" in mailbox.last_error
    assert mailbox.last_polled_at is not None and mailbox.polling_since is None


def test_a_server_that_is_not_there_is_a_clear_error(account):
    from rapport.ingest.tests.dovecot import free_port

    mailbox = stored_as(connect_mailbox(account), port=free_port())
    poll(mailbox)
    assert mailbox.last_error.startswith(
        f"Cannot connect to 127.0.0.1:{mailbox.port}: the connection was refused"
    )


def test_a_server_on_a_private_network_is_refused_unless_allowed(account, jane, settings):
    mailbox = connect_mailbox(account)  # saved while allowed, then the installation changed
    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = False
    summary = poll(mailbox)
    assert not summary.ok
    assert mailbox.last_error.startswith(
        f"Cannot connect to 127.0.0.1:{mailbox.port}: it is an address"
    )
    assert "private network" in mailbox.last_error
    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = True
    mailbox.refresh_from_db()
    assert poll(mailbox).ok


def test_a_folder_that_does_not_exist_is_reported_and_the_others_are_read(account, jane):
    account.append("INBOX", message("Still read"))
    mailbox = connect_mailbox(account, folders=["Gone", "INBOX"])
    summary = poll(mailbox)
    assert subjects() == ["Still read"]
    assert "Folder 'Gone' could not be opened" in mailbox.last_error
    assert not summary.ok


def test_a_mailbox_being_polled_is_not_polled_twice(account, jane):
    account.append("INBOX", message())
    mailbox = connect_mailbox(account)
    Mailbox.objects.filter(pk=mailbox.pk).update(polling_since=timezone.now())
    assert poll(mailbox).polled is False
    assert not Entry.objects.filter(source=mail.SOURCE).exists()
    # A claim nobody renewed for ten minutes belongs to a dead worker: taken over.
    Mailbox.objects.filter(pk=mailbox.pk).update(
        polling_since=timezone.now() - dt.timedelta(minutes=11)
    )
    assert poll(mailbox).stored == 1


def test_the_password_is_stored_encrypted(account):
    mailbox = connect_mailbox(account)
    with connection.cursor() as cursor:
        cursor.execute("SELECT password_encrypted FROM ingest_mailbox WHERE id = %s", [mailbox.pk])
        (stored,) = cursor.fetchone()
    assert stored and account.password not in stored
    assert decrypt(stored) == account.password
    audit = AuditEntry.objects.filter(entity_kind="mailbox", entity_id=mailbox.pk)
    assert audit.exists()
    assert all(
        account.password not in str(e.changes) and stored not in str(e.changes) for e in audit
    )


# --- scheduling ----------------------------------------------------------------------------


def test_the_task_polls_the_mailbox(account, jane):
    account.append("INBOX", message("By the worker"))
    mailbox = connect_mailbox(account)
    tasks.mailbox_poll_task.enqueue(mailbox.pk)  # tests run tasks immediately
    assert subjects() == ["By the worker"]
    tasks.mailbox_poll_task.enqueue(mailbox.pk)  # safe to run twice
    assert subjects() == ["By the worker"]


def test_mailboxes_due_are_the_enabled_ones_past_their_interval(account, db):
    now = timezone.now()
    never = connect_mailbox(account, name="never polled")
    other = account.server.account()
    recent = connect_mailbox(other, name="recent", poll_minutes=10)
    Mailbox.objects.filter(pk=recent.pk).update(last_polled_at=now - dt.timedelta(minutes=4))
    old = connect_mailbox(account.server.account(), name="old", poll_minutes=10)
    Mailbox.objects.filter(pk=old.pk).update(last_polled_at=now - dt.timedelta(minutes=11))
    off = connect_mailbox(account.server.account(), name="off", enabled=False)
    busy = connect_mailbox(account.server.account(), name="busy")
    Mailbox.objects.filter(pk=busy.pk).update(polling_since=now - dt.timedelta(minutes=1))

    due = mailboxes.mailboxes_due(now=now)

    assert set(due) == {never.pk, old.pk}
    assert off.pk not in due and recent.pk not in due
    later = mailboxes.mailboxes_due(now=now + dt.timedelta(minutes=7))
    assert recent.pk in later


def test_the_watchdog_queues_the_due_mailboxes(account, jane, monkeypatch):
    account.append("INBOX", message("Scheduled"))
    mailbox = connect_mailbox(account)
    queued = mailboxes.mailboxes_enqueue_due()
    assert queued == [mailbox.pk]
    assert subjects() == ["Scheduled"]
    assert mailboxes.mailboxes_due() == []  # polled just now


def test_the_command_polls_a_mailbox(account, jane, capsys):
    account.append("INBOX", message("From the command line"))
    mailbox = connect_mailbox(account)
    call_command("ingest", "poll", "--mailbox", str(mailbox.pk))
    out = capsys.readouterr().out
    assert f"mailbox {mailbox.pk}" in out and "1 new messages: 1 stored" in out
    assert subjects() == ["From the command line"]


def test_the_command_reports_a_failed_poll(account):
    mailbox = connect_mailbox(account)
    Mailbox.objects.filter(pk=mailbox.pk).update(password_encrypted=mailboxes.encrypt("wrong"))
    with pytest.raises(CommandError):
        call_command("ingest", "poll")


# --- settings, permissions, concurrency ----------------------------------------------------


def test_everyone_may_connect_their_own_mailbox_but_only_admins_a_shared_one(personas, account):
    bob = personas["bob"]
    own = connect_mailbox(account, owner=bob)
    assert own.owner == bob
    with pytest.raises(PermissionDenied):
        mailboxes.mailbox_create(
            actor=Actor(user=bob),
            data={"name": "sales@", "host": "h", "username": "u2", "password": "p"},
            shared=True,
        )
    sales = account.server.account()
    shared = mailboxes.mailbox_create(
        actor=Actor(user=personas["alice"]),
        data={**api_data(sales), "name": "sales@"},
        shared=True,
    )
    assert shared.owner is None


def test_someone_elses_mailbox_is_out_of_reach(personas, account):
    mailbox = connect_mailbox(account, owner=personas["bob"])
    brenda = Actor(user=personas["brenda"])
    with pytest.raises(NotFound):
        mailboxes.mailbox_get(actor=brenda, mailbox_id=mailbox.pk)
    with pytest.raises(NotFound):
        mailboxes.mailbox_update(actor=brenda, mailbox_id=mailbox.pk, data={"name": "mine"})
    with pytest.raises(NotFound):
        mailboxes.mailbox_delete(actor=brenda, mailbox_id=mailbox.pk)
    assert list(mailboxes.mailbox_list(actor=brenda)) == []
    # An admin manages every mailbox.
    alice = Actor(user=personas["alice"])
    assert (
        mailboxes.mailbox_update(actor=alice, mailbox_id=mailbox.pk, data={"name": "Bob's"}).name
        == "Bob's"
    )


def test_a_stale_version_is_refused(personas, account):
    bob = Actor(user=personas["bob"])
    mailbox = connect_mailbox(account, owner=personas["bob"])
    mailboxes.mailbox_update(
        actor=bob, mailbox_id=mailbox.pk, data={"poll_minutes": 15}, expected_version=1
    )
    with pytest.raises(VersionConflict):
        mailboxes.mailbox_update(
            actor=bob, mailbox_id=mailbox.pk, data={"poll_minutes": 30}, expected_version=1
        )
    mailbox.refresh_from_db()
    assert (mailbox.poll_minutes, mailbox.version) == (15, 2)


def test_the_password_change_is_audited_without_the_password(personas, account):
    bob = Actor(user=personas["bob"])
    mailbox = connect_mailbox(account, owner=personas["bob"])
    mailboxes.mailbox_update(actor=bob, mailbox_id=mailbox.pk, data={"password": "n3w-secret"})
    mailbox.refresh_from_db()
    assert decrypt(mailbox.password_encrypted) == "n3w-secret"
    entry = AuditEntry.objects.filter(
        entity_kind="mailbox", entity_id=mailbox.pk, action="update"
    ).get()
    assert entry.changes == {"password": ["", "changed"]}
    # A blank password keeps the stored one.
    mailboxes.mailbox_update(
        actor=bob, mailbox_id=mailbox.pk, data={"password": "", "name": "Renamed"}
    )
    mailbox.refresh_from_db()
    assert decrypt(mailbox.password_encrypted) == "n3w-secret"


def test_a_new_server_needs_the_password_again(personas, account):
    bob = Actor(user=personas["bob"])
    mailbox = connect_mailbox(account, owner=personas["bob"])
    with pytest.raises(ValidationFailed) as exc:
        mailboxes.mailbox_update(
            actor=bob, mailbox_id=mailbox.pk, data={"host": "evil.example.net"}
        )
    assert "password" in exc.value.errors
    mailbox.refresh_from_db()
    assert mailbox.host == account.server.host


def test_the_same_login_cannot_be_connected_twice(personas, account):
    connect_mailbox(account, owner=personas["bob"])
    with pytest.raises(ValidationFailed) as exc:
        connect_mailbox(account, owner=personas["brenda"])
    assert "already connected" in exc.value.errors["username"][0]


# --- web pages -----------------------------------------------------------------------------


def form_data(account, **extra) -> dict:
    return {
        "name": "My mail",
        "host": account.server.host,
        "port": str(account.server.port),
        "security": "none",
        "username": account.username,
        "password": account.password,
        "folders": ["INBOX"],
        "poll_minutes": "5",
        "enabled": "on",
        **extra,
    }


def test_a_sales_rep_connects_their_own_mailbox_on_the_web(client, personas, account):
    client.force_login(personas["bob"])
    page = client.get(reverse("ingest:mailbox-create"))
    assert page.status_code == 200
    assert b'name="shared"' not in page.content  # only admins connect shared mailboxes
    response = client.post(
        reverse("ingest:mailbox-create"), form_data(account, folders_more="Sent, Customers")
    )
    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert (mailbox.owner, mailbox.folders) == (personas["bob"], ["INBOX", "Sent", "Customers"])
    listing = client.get(reverse("ingest:mailbox-list"))
    assert b"My mail" in listing.content and b"Customers" in listing.content
    assert account.password.encode() not in listing.content
    edit = client.get(reverse("ingest:mailbox-edit", args=[mailbox.pk]))
    assert edit.status_code == 200
    assert (
        account.password.encode() not in edit.content
        and mailbox.password_encrypted.encode() not in edit.content
    )


def test_the_list_shows_the_last_error_and_counts(client, personas, account, jane):
    broken = (SAMPLES / "broken.eml").read_bytes()
    account.append("INBOX", message("Fine"), broken)
    owned_by(jane, personas["bob"])  # mail lands only on contacts he may see
    mailbox = connect_mailbox(account, owner=personas["bob"])
    poll(mailbox)
    client.force_login(personas["bob"])
    page = client.get(reverse("ingest:mailbox-list")).content.decode()
    assert "1 stored of 2 read" in page
    assert "INBOX UID 2" in page and "no sender" in page


def test_a_shared_mailbox_is_for_admins_only_on_the_web(client, personas, account):
    shared = connect_mailbox(account)
    client.force_login(personas["bob"])
    assert b"Mail of" not in client.get(reverse("ingest:mailbox-list")).content
    assert client.get(reverse("ingest:mailbox-edit", args=[shared.pk])).status_code == 404
    assert client.post(reverse("ingest:mailbox-poll", args=[shared.pk])).status_code == 404
    assert client.post(reverse("ingest:mailbox-delete", args=[shared.pk])).status_code == 404
    response = client.post(
        reverse("ingest:mailbox-create"), form_data(account.server.account(), shared="on")
    )
    assert response.status_code == 302
    assert Mailbox.objects.get(
        username__startswith="user", owner=personas["bob"]
    )  # "shared" ignored: his own

    client.force_login(personas["alice"])
    assert b"Mail of" in client.get(reverse("ingest:mailbox-list")).content
    response = client.post(
        reverse("ingest:mailbox-create"),
        form_data(account.server.account(), name="sales@", shared="on"),
    )
    assert response.status_code == 302
    assert Mailbox.objects.get(name="sales@").owner is None
    assert client.post(reverse("ingest:mailbox-delete", args=[shared.pk])).status_code == 302
    assert not Mailbox.objects.filter(pk=shared.pk).exists()


def test_someone_elses_mailbox_is_hidden_on_the_web(client, personas, account):
    mailbox = connect_mailbox(account, owner=personas["bob"])
    client.force_login(personas["brenda"])
    assert client.get(reverse("ingest:mailbox-edit", args=[mailbox.pk])).status_code == 404
    assert client.post(reverse("ingest:mailbox-poll", args=[mailbox.pk])).status_code == 404


def test_editing_with_a_stale_version_is_refused_on_the_web(client, personas, account):
    mailbox = connect_mailbox(account, owner=personas["bob"])
    mailboxes.mailbox_update(
        actor=Actor(user=personas["bob"]), mailbox_id=mailbox.pk, data={"name": "Changed elsewhere"}
    )
    client.force_login(personas["bob"])
    data = form_data(account, name="Mine", password="", version="1")
    response = client.post(reverse("ingest:mailbox-edit", args=[mailbox.pk]), data)
    assert response.status_code == 409
    assert b"Nothing was saved" in response.content
    mailbox.refresh_from_db()
    assert mailbox.name == "Changed elsewhere"
    # Saving again (the page now carries the current version) applies the input.
    data["version"] = str(mailbox.version)
    assert client.post(reverse("ingest:mailbox-edit", args=[mailbox.pk]), data).status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.name == "Mine" and decrypt(mailbox.password_encrypted) == account.password


def test_poll_now_queues_a_poll(
    client, personas, account, jane, django_capture_on_commit_callbacks
):
    account.append("INBOX", message("Polled on request"))
    owned_by(jane, personas["bob"])  # mail lands only on contacts he may see
    mailbox = connect_mailbox(account, owner=personas["bob"])
    client.force_login(personas["bob"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ingest:mailbox-poll", args=[mailbox.pk]))
    assert response.status_code == 302
    assert subjects() == ["Polled on request"]


def test_poll_now_needs_csrf(personas, account):
    from django.test import Client

    mailbox = connect_mailbox(account, owner=personas["bob"])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(personas["bob"])
    assert strict.post(reverse("ingest:mailbox-poll", args=[mailbox.pk])).status_code == 403


def test_the_folders_button_lists_the_servers_folders(client, personas, account):
    account.create("Customers")
    mailbox = connect_mailbox(account, owner=personas["bob"])
    client.force_login(personas["bob"])
    data = form_data(account, password="", mailbox=str(mailbox.pk))  # the stored password
    page = client.post(
        reverse("ingest:mailbox-folders"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'value="Customers"' in page and 'value="INBOX" checked' in page
    wrong = client.post(
        reverse("ingest:mailbox-folders"), form_data(account, password="nope")
    ).content.decode()
    assert "refused the login" in wrong
    # The stored password is never sent to another server.
    moved = client.post(
        reverse("ingest:mailbox-folders"),
        form_data(account, host="localhost", password="", mailbox=str(mailbox.pk)),
    ).content.decode()
    assert "Enter the password" in moved


# --- API -----------------------------------------------------------------------------------


def api_data(account, **extra) -> dict:
    return {
        "name": "API mail",
        "host": account.server.host,
        "port": account.server.port,
        "security": "none",
        "username": account.username,
        "password": account.password,
        "folders": ["INBOX"],
        **extra,
    }


def test_the_api_manages_your_own_mailbox(api_client, personas, account):
    bob = api_client("bob")
    created = bob.post("/api/v1/mailboxes", api_data(account), content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner_id"] == personas["bob"].pk and body["has_password"] is True
    assert "password" not in body and account.password not in created.content.decode()
    url = f"/api/v1/mailboxes/{body['id']}"
    assert bob.get(url).headers["ETag"] == '"1"'
    changed = bob.patch(
        url, {"poll_minutes": 15}, content_type="application/json", headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200 and changed.json()["poll_minutes"] == 15
    stale = bob.patch(
        url, {"poll_minutes": 30}, content_type="application/json", headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert [m["id"] for m in bob.get("/api/v1/mailboxes").json()] == [body["id"]]
    assert bob.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert bob.delete(url, headers={"If-Match": '"2"'}).status_code == 204
    assert not Mailbox.objects.exists()


def test_the_api_hides_other_peoples_and_shared_mailboxes(api_client, personas, account):
    bobs = connect_mailbox(account, owner=personas["bob"])
    shared = connect_mailbox(account.server.account())
    brenda = api_client("brenda")
    assert brenda.get("/api/v1/mailboxes").json() == []
    assert brenda.get(f"/api/v1/mailboxes/{bobs.pk}").status_code == 404
    assert (
        brenda.patch(
            f"/api/v1/mailboxes/{shared.pk}", {"name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert brenda.post(f"/api/v1/mailboxes/{shared.pk}/poll").status_code == 404
    refused = brenda.post(
        "/api/v1/mailboxes",
        api_data(account.server.account(), shared=True),
        content_type="application/json",
    )
    assert refused.status_code == 403
    alice = api_client("alice")
    assert {m["id"] for m in alice.get("/api/v1/mailboxes").json()} == {bobs.pk, shared.pk}
    made = alice.post(
        "/api/v1/mailboxes",
        api_data(account.server.account(), shared=True),
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["owner_id"] is None


def test_the_api_queues_a_poll(
    api_client, personas, account, jane, django_capture_on_commit_callbacks
):
    account.append("INBOX", message("Via the API"))
    owned_by(jane, personas["bob"])  # mail lands only on contacts he may see
    mailbox = connect_mailbox(account, owner=personas["bob"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client("bob").post(f"/api/v1/mailboxes/{mailbox.pk}/poll")
    assert response.status_code == 202
    assert subjects() == ["Via the API"]
    state = api_client("bob").get(f"/api/v1/mailboxes/{mailbox.pk}").json()
    assert state["folder_states"][0]["last_uid"] == 1 and state["last_polled_at"]


# --- which hosts, over what (issue 11) ---------------------------------------------------


def _resolving(monkeypatch, *answers):
    """getaddrinfo answering each call with the next answer (an address, or an exception)."""
    import socket

    calls = []

    def fake(host, port, *args, **kwargs):
        answer = answers[min(len(calls), len(answers) - 1)]
        calls.append(host)
        if isinstance(answer, Exception):
            raise answer
        family = socket.AF_INET6 if ":" in answer else socket.AF_INET
        sockaddr = (answer, port, 0, 0) if family == socket.AF_INET6 else (answer, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


def test_the_connection_goes_to_the_address_that_was_checked(account, monkeypatch):
    import socket

    # The name resolves once to the server; a second lookup (DNS rebinding) would fail.
    calls = _resolving(monkeypatch, "127.0.0.1", socket.gaierror(socket.EAI_NONAME, "rebound"))
    names = imap.list_folders(
        host="mail.example.test", port=account.server.port, security="none",
        username=account.username, password=account.password, timeout=10,
    )  # fmt: skip
    assert "INBOX" in names
    assert calls == ["mail.example.test"]


def test_a_name_rebound_to_loopback_after_the_check_is_not_followed(account, monkeypatch, settings):
    import socket

    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = False
    # Checked as a public address, then (a second lookup) the test server on loopback.
    _resolving(monkeypatch, "93.184.216.34", "127.0.0.1")
    reached = []
    real = socket.socket.connect

    def connect(self, address):
        reached.append(address[0])
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError("not on this test machine")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    with pytest.raises(imap.ImapProblem, match="refused"):
        imap.list_folders(
            host="mail.example.test", port=account.server.port, security="none",
            username=account.username, password=account.password, timeout=5,
        )  # fmt: skip
    assert reached == ["93.184.216.34"]


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
        "2002:c000:201::1",
        "ff02::1",
        "224.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_nat64_6to4_multicast_and_mapped_private_addresses_are_refused(
    address, monkeypatch, settings
):
    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = False
    _resolving(monkeypatch, address)
    with pytest.raises(imap.HostRefused) as refused:
        imap.connect(host="mail.example.test", port=993, security="ssl", timeout=1)
    assert refused.value.reason.startswith("Cannot connect to mail.example.test:993: it is a")


def test_a_multicast_address_is_refused_even_where_private_hosts_are_allowed(monkeypatch, settings):
    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = True
    _resolving(monkeypatch, "ff05::1:3")
    with pytest.raises(imap.HostRefused, match="multicast"):
        imap.check_host("mail.example.test", 993)


def test_a_public_address_is_accepted(monkeypatch, settings):
    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = False
    _resolving(monkeypatch, "2a00:1450:4001:80b::200e")
    assert imap.resolve_host("mail.example.test", 993) == [(10, "2a00:1450:4001:80b::200e")]


def test_a_private_host_is_refused_when_the_mailbox_is_saved_in_production(account, settings):
    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationFailed) as refused:
        connect_mailbox(account)
    assert "private network" in refused.value.errors["host"][0]
    assert not Mailbox.objects.exists()
    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = True
    mailbox = connect_mailbox(account, host="localhost")
    settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationFailed) as refused:
        mailboxes.mailbox_update(
            actor=SYSTEM,
            mailbox_id=mailbox.pk,
            data={"host": "127.0.0.1", "password": account.password},
        )
    assert "private network" in refused.value.errors["host"][0]
    mailbox.refresh_from_db()
    assert mailbox.host == "localhost"


@pytest.fixture
def logins(monkeypatch):
    import imaplib

    sent = []
    real = imaplib.IMAP4.login

    def spy(self, user, password):
        sent.append((user, type(self.sock).__name__))
        return real(self, user, password)

    monkeypatch.setattr(imaplib.IMAP4, "login", spy)
    return sent


def test_starttls_that_the_server_does_not_offer_sends_no_password(account, logins):
    with pytest.raises(ValidationFailed) as refused:  # the test server has no TLS
        connect_mailbox(account, security="starttls")
    assert "TLS not supported by server" in refused.value.errors["host"][0]
    mailbox = stored_as(connect_mailbox(account), security="starttls")
    logins.clear()
    assert not poll(mailbox).ok
    assert "TLS not supported by server" in mailbox.last_error
    assert logins == []


def test_a_connection_left_unencrypted_after_starttls_sends_no_password(
    account, logins, monkeypatch
):
    import imaplib

    # As if STARTTLS had answered OK without the socket being wrapped (a broken or
    # intercepted negotiation): the password must still not go out in plain text.
    mailbox = stored_as(connect_mailbox(account), security="starttls")
    logins.clear()
    monkeypatch.setattr(
        imaplib.IMAP4, "starttls", lambda self, ssl_context=None: ("OK", [b"Begin TLS"])
    )
    assert not poll(mailbox).ok
    assert "not encrypted" in mailbox.last_error and "password was not sent" in mailbox.last_error
    assert logins == []
    with pytest.raises(imap.ImapProblem, match="not encrypted"):
        imap.list_folders(
            host=account.server.host, port=account.server.port, security="starttls",
            username=account.username, password=account.password, timeout=10,
        )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        connect_mailbox(account, security="starttls", name="Again")
    assert "not encrypted" in refused.value.errors["password"][0]
    assert logins == []
