"""Files of mail are stored a batch at a time: the addresses of a batch looked up together,
its entries written together, the signatures learned by the worker. The results must be
those of storing the messages one by one."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from rapport.audit.services import Actor
from rapport.customers.models import AccountMembership
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.mail import services as mail
from rapport.ingest.models import Proposal
from rapport.timeline import events
from rapport.timeline.models import Entry, EntryLink

SIGNATURES = Path(__file__).parent / "signatures"
SYSTEM = Actor(user=None, via="import")


def message(n: int, sender: str, to: str = "alice@example.org") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, f"Order {n}"
    msg["Message-ID"] = f"<order-{n}@mail.acme.com>"
    msg["Date"] = "Mon, 10 Mar 2025 09:30:00 +0000"
    msg.set_content(f"Order number {n}, as agreed.\n")
    return bytes(msg)


def mbox(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.mbox(str(path))
    for raw in messages:
        box.add(raw)
    box.flush()
    box.close()
    return path


@pytest.fixture
def people(db):
    acme = make_account(name="ACME Ltd", domains=["acme.com"])
    jane = make_contact(given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"],
                        phones=["+44 20 7946 0018"], account=acme, job_title="Buyer")  # fmt: skip
    tom = make_contact(given_name="Tom", family_name="Lee", emails=["tom.lee@globex.com"])
    return acme, jane, tom


def test_a_file_larger_than_a_batch_is_stored_once_per_message_with_its_links(tmp_path, alice, people, monkeypatch):
    monkeypatch.setattr(mail, "FILE_BATCH", 7)
    acme, jane, tom = people
    raws = [message(n, "Jane Doe <jane.doe@acme.com>" if n % 2 else "tom.lee@globex.com") for n in range(20)]
    raws.insert(5, raws[3])  # delivered twice, in the same batch
    raws.append(raws[0])  # and in a later batch
    summary = mail.ingest_file(mbox(tmp_path / "in.mbox", raws), SYSTEM)
    assert (summary.read, summary.stored, summary.duplicates) == (22, 20, 2)
    assert Entry.objects.filter(source="mail").count() == 20
    assert EntryLink.objects.filter(contact=jane).count() == 10
    assert EntryLink.objects.filter(contact=tom).count() == 10
    # Jane's touches are on her account's timeline too; Tom has no account.
    assert EntryLink.objects.filter(account=acme, role="via").count() == 10
    # Again: nothing new.
    again = mail.ingest_file(mbox(tmp_path / "again.mbox", raws), SYSTEM)
    assert (again.stored, again.duplicates) == (0, 22)


def test_the_worker_learns_the_signature_facts_of_a_file(tmp_path, alice, people):
    _, jane, _ = people
    raw = (SIGNATURES / "mobile.eml").read_bytes()
    summary = mail.ingest_file(mbox(tmp_path / "in.mbox", [raw]), SYSTEM)  # tests run tasks at once
    assert summary.stored == 1
    assert jane.phones.filter(e164="+447400123456", is_primary=False).exists()
    title = Proposal.objects.get(field="title", state=Proposal.State.PENDING)
    assert title.evidence["line"] == "Head of Purchasing"
    assert title.evidence["subject"] == "New number"
    assert title.entry == Entry.objects.get(external_id="sig-mobile-1@mail.acme.com")


def test_inline_learning_gives_the_same_facts(tmp_path, alice, people):
    _, jane, _ = people
    raw = (SIGNATURES / "mobile.eml").read_bytes()
    mail.ingest_file(mbox(tmp_path / "in.mbox", [raw]), SYSTEM, learn="inline")
    assert jane.phones.filter(e164="+447400123456").exists()
    assert Proposal.objects.filter(field="title", state=Proposal.State.PENDING).count() == 1


def test_a_batch_that_fails_is_stored_one_message_at_a_time(tmp_path, alice, people, monkeypatch):
    def broken(drafts):
        raise RuntimeError("the bulk insert failed")

    monkeypatch.setattr(events, "record_many", broken)
    monkeypatch.setattr(mail, "FILE_BATCH", 4)
    raws = [message(n, "jane.doe@acme.com") for n in range(6)]
    summary = mail.ingest_file(mbox(tmp_path / "in.mbox", raws), SYSTEM, learn="inline")
    # record() goes through record_many too, so every message fails alone, reported with
    # the reason, and nothing is half-stored.
    assert summary.stored == 0 and len(summary.errors) == 6
    assert summary.errors[0] == ("message 1 (Order 0)", "RuntimeError: the bulk insert failed")
    assert not Entry.objects.exists()


def test_record_many_writes_a_hundred_entries_in_a_handful_of_queries(people, django_assert_max_num_queries):
    acme, jane, tom = people
    AccountMembership.objects.create(contact=tom, account=make_account(name="Globex"))

    def drafts(n: int, offset: int) -> list[events.Draft]:
        return [
            events.Draft(kind="email", summary=f"m{i}", contacts=[jane.pk, tom.pk], source="mail",
                         external_id=f"m{i}@acme.com")  # fmt: skip
            for i in range(offset, offset + n)
        ]

    # Look up the stored ids, insert entries, look up employers, insert links (+ savepoint).
    with django_assert_max_num_queries(6):
        events.record_many(drafts(10, 0))
    # A hundred: the inserts are split in a few statements by the database's limit on
    # parameters, against 500 or so one by one.
    with django_assert_max_num_queries(10):
        entries = events.record_many(drafts(100, 100))
    assert len({e.pk for e in entries}) == 100
    assert EntryLink.objects.filter(entry__in=entries).count() == 100 * 4  # 2 contacts, 2 accounts
