"""Facts from e-mail signatures and unknown senders: the services behind the review queue.
The messages are real RFC 5322 text in tests/signatures/."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor
from rapport.core.errors import Conflict, PermissionDenied, ValidationFailed, VersionConflict
from rapport.customers.models import AccountMembership, Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.mail import services as mail
from rapport.ingest.models import CaptureSettings, Proposal
from rapport.ingest.proposals import services as proposals
from rapport.timeline.models import EntryLink

SAMPLES = Path(__file__).parent / "signatures"
SYSTEM = Actor(user=None, via="import")


def receive(name: str):
    return mail.receive((SAMPLES / name).read_bytes(), actor=SYSTEM)


def steward(personas) -> Actor:
    return Actor(user=personas["stella"], via="web")


@pytest.fixture
def acme(db):
    return make_account(name="ACME Ltd", domains=["acme.com"])


@pytest.fixture
def jane(acme):
    return make_contact(
        given_name="Jane",
        family_name="Doe",
        emails=["jane.doe@acme.com"],
        phones=["+44 20 7946 0018"],
        account=acme,
        job_title="Buyer",
    )


def pending(**filters):
    return Proposal.objects.filter(state=Proposal.State.PENDING, **filters)


# --- facts from a known contact's own message -----------------------------------------------


def test_a_new_mobile_from_the_contacts_own_message_is_added_as_an_extra_number(personas, jane):
    receive("mobile.eml")
    numbers = {p.e164: p for p in jane.phones.all()}
    assert set(numbers) == {"+442079460018", "+447400123456"}
    assert numbers["+442079460018"].is_primary  # the primary is untouched
    assert not numbers["+447400123456"].is_primary
    assert numbers["+447400123456"].kind == "mobile"
    applied = Proposal.objects.get(field="mobile")
    assert applied.state == Proposal.State.APPLIED and applied.rule.startswith("auto: mobile")
    assert applied.evidence["line"] == "Mobile: +44 7400 123456"
    assert applied.evidence["subject"] == "New number"
    # The audit trail says where the number came from.
    audit = AuditEntry.objects.get(entity_kind="contact", entity_id=jane.pk, object_kind="phone",
                                   object_id=numbers["+447400123456"].pk)  # fmt: skip
    assert audit.via == "automation"
    assert audit.context["proposal"] == applied.pk
    assert audit.context["entry"] == applied.entry_id
    assert audit.context["message_id"] == "sig-mobile-1@mail.acme.com"
    assert audit.context["line"] == "Mobile: +44 7400 123456"
    # The work number it already had is not proposed.
    assert not Proposal.objects.filter(key__endswith="+442079460018").exists()


def test_a_new_title_waits_for_review_and_accept_with_an_edit_applies_it(personas, jane):
    _, result = receive("mobile.eml")
    title = pending(field="title").get()
    assert title.value == {"title": "Head of Purchasing"}
    assert title.contact == jane and title.entry == result.entry
    jane.refresh_from_db()
    assert jane.job_title == "Buyer"  # not applied by itself
    done = proposals.proposal_accept(
        actor=steward(personas), proposal=title, value={"title": "Head of Purchasing, EMEA"},
        expected_version=title.version,
    )  # fmt: skip
    assert done.state == Proposal.State.ACCEPTED and done.decided_by == personas["stella"]
    assert done.result["edited"] is True
    assert done.result["proposed"] == {"title": "Head of Purchasing"}
    jane.refresh_from_db()
    assert jane.job_title == "Head of Purchasing, EMEA"
    audit = AuditEntry.objects.filter(entity_kind="contact", entity_id=jane.pk).latest("id")
    assert audit.changes["job_title"] == ["Buyer", "Head of Purchasing, EMEA"]
    assert audit.actor_name == "stella"
    assert audit.context["proposal"] == title.pk
    assert audit.context["message_id"] == "sig-mobile-1@mail.acme.com"
    assert audit.context["line"] == "Head of Purchasing"


def test_a_rejected_fact_is_not_proposed_again(personas, jane):
    receive("mobile.eml")
    title = pending(field="title").get()
    proposals.proposal_reject(actor=steward(personas), proposal=title)
    assert Proposal.objects.get(pk=title.pk).state == Proposal.State.REJECTED
    receive("mobile-again.eml")
    assert not pending(field="title").exists()
    jane.refresh_from_db()
    assert jane.job_title == "Buyer"


def test_the_same_fact_twice_is_one_proposal_seen_twice(personas, jane):
    receive("mobile.eml")
    receive("mobile-again.eml")
    receive("mobile-again.eml")  # the same message delivered again is no new sighting
    title = pending(field="title").get()
    assert title.sightings == 2
    assert [s["message_id"] for s in title.evidence["seen"]] == [
        "sig-mobile-1@mail.acme.com",
        "sig-mobile-2@mail.acme.com",
    ]


def test_the_company_it_already_works_for_is_not_proposed(personas, jane):
    receive("mobile.eml")
    assert not Proposal.objects.filter(field="company").exists()
    # www.acme.com is the domain of its account: nothing new either.
    assert not Proposal.objects.filter(field="website").exists()


def test_an_html_only_message_proposes_the_title(personas, jane):
    receive("html-only.eml")
    assert pending(field="title").get().value == {"title": "Chief Procurement Officer"}
    assert jane.phones.filter(e164="+447400123456").exists()


def test_a_reply_never_reads_the_signature_in_its_quoted_history(personas, jane):
    tom = make_contact(full_name="Tom Lee", emails=["tom.lee@globex.com"])
    receive("reply-quoted.eml")
    assert not Proposal.objects.exists()
    assert not tom.phones.exists() and not jane.phones.filter(e164="+447911123456").exists()


def test_a_fact_in_someone_elses_message_goes_to_review_even_when_the_rule_says_auto(
    personas, jane
):
    make_contact(full_name="Tom Lee", emails=["tom.lee@acme.com"])
    receive("forwarded.eml")
    mobile = pending(field="mobile").get()
    assert mobile.contact == jane
    assert mobile.rule == "review: mobile read in someone else's message"
    assert mobile.evidence["forwarded_by"] == "tom.lee@acme.com"
    assert not jane.phones.filter(e164="+447400123456").exists()


def test_sent_from_my_iphone_teaches_nothing(personas, jane):
    receive("iphone.eml")
    assert not Proposal.objects.exists()


def test_german_signature_gives_a_mobile_an_address_and_the_company(personas):
    hans = make_contact(full_name="Hans Müller", emails=["hans.mueller@hoffmann-bau.de"])
    receive("german.eml")
    assert hans.phones.filter(e164="+491701234567", kind="mobile").exists()
    address = pending(field="address", contact=hans).get()
    assert address.value["street"] == "Musterstraße 12" and address.value["country"] == "DE"
    company = pending(field="company", contact=hans).get()
    done = proposals.proposal_accept(actor=steward(personas), proposal=company)
    account = AccountMembership.objects.get(contact=hans).account
    assert account.name == "Hoffmann Bau GmbH" and done.result["account_created"] is True
    proposals.proposal_accept(actor=steward(personas), proposal=address)
    assert str(hans.addresses.get()) == "Musterstraße 12, 10115, Berlin, DE"


def test_french_signature_is_read(personas):
    marie = make_contact(full_name="Marie Dupont", emails=["marie.dupont@exemple.fr"])
    receive("french.eml")
    assert marie.phones.filter(e164="+33612345678").exists()
    assert pending(field="title", contact=marie).get().value == {"title": "Directrice commerciale"}


# --- the rules ------------------------------------------------------------------------------


def test_rules_ignore_and_auto(personas, jane):
    admin = Actor(user=personas["alice"])
    conf = proposals.capture_settings_update(
        actor=admin, rules={"mobile": "ignore", "title": "auto"}, expected_version=1
    )
    assert conf.version == 2 and conf.rules["mobile"] == "ignore" and conf.rules["phone"] == "auto"
    receive("mobile.eml")
    assert not jane.phones.filter(e164="+447400123456").exists()
    assert not Proposal.objects.filter(field="mobile").exists()
    jane.refresh_from_db()
    assert jane.job_title == "Head of Purchasing"
    assert Proposal.objects.get(field="title").state == Proposal.State.APPLIED
    audit = AuditEntry.objects.get(entity_kind="capture_settings")
    assert audit.changes["rules"][0]["mobile"] == "auto"
    assert audit.changes["rules"][1]["mobile"] == "ignore"


def test_only_admins_change_the_rules_and_a_stale_version_is_refused(personas):
    with pytest.raises(PermissionDenied):
        proposals.capture_settings_update(actor=steward(personas), unknown_senders=False)
    admin = Actor(user=personas["alice"])
    proposals.capture_settings_update(actor=admin, unknown_senders=False, expected_version=1)
    with pytest.raises(VersionConflict):
        proposals.capture_settings_update(actor=admin, unknown_senders=True, expected_version=1)
    with pytest.raises(ValidationFailed):
        proposals.capture_settings_update(actor=admin, rules={"title": "sometimes"})
    assert CaptureSettings.objects.get().unknown_senders is False


# --- unknown senders -------------------------------------------------------------------------


def test_an_unknown_sender_is_proposed_with_the_domains_account_and_a_likely_duplicate(personas):
    globex = make_account(name="Globex Corporation", domains=["globex.com"])
    peter = make_contact(given_name="Peter", family_name="Parker", emails=["pp@home.example"],
                         phones=["+44 7911 123456"])  # fmt: skip
    message, result = receive("unknown.eml")
    assert result.status == "unmatched"
    proposal = pending(kind="new_contact").get()
    assert proposal.key == "peter.parker@globex.com" and proposal.account == globex
    assert proposal.value["given_name"] == "Peter" and proposal.value["family_name"] == "Parker"
    assert proposal.value["job_title"] == "Chief Technology Officer"
    assert proposal.evidence["account_how"] == "domain"
    assert [d["id"] for d in proposal.evidence["duplicates"]] == [peter.pk]
    assert proposal.evidence["messages"][0]["subject"] == "Demo request"


def test_accepting_an_unknown_sender_creates_the_contact_with_its_message(personas):
    globex = make_account(name="Globex Corporation", domains=["globex.com"])
    receive("unknown.eml")
    proposal = pending(kind="new_contact").get()
    done = proposals.proposal_accept(
        actor=steward(personas), proposal=proposal, value={"given_name": "Pete"}
    )
    contact = Contact.objects.get(pk=done.result["contact"])
    assert contact.full_name == "Pete Parker" and contact.job_title == "Chief Technology Officer"
    assert list(contact.emails.values_list("email", flat=True)) == ["peter.parker@globex.com"]
    assert contact.phones.get().e164 == "+447911123456"
    assert AccountMembership.objects.get(contact=contact).account == globex
    link = EntryLink.objects.select_related("entry").get(contact=contact)
    assert link.role == "from" and link.entry.summary == "Demo request"
    assert link.entry.attachments.get().name == "requirements.pdf"
    assert done.entry_id == link.entry_id
    created = AuditEntry.objects.get(entity_kind="contact", entity_id=contact.pk,
                                     object_kind="contact", action="create")  # fmt: skip
    assert created.context["proposal"] == proposal.pk and created.actor_name == "stella"
    # Delivered again, the message is a duplicate and the sender a known contact now.
    _, again = receive("unknown.eml")
    assert again.status == "duplicate"
    assert pending(kind="new_contact").count() == 0


def test_accepting_an_unknown_sender_as_an_existing_contact(personas):
    peter = make_contact(given_name="Peter", family_name="Parker", emails=["pp@home.example"])
    receive("unknown.eml")
    proposal = pending(kind="new_contact").get()
    proposals.proposal_accept(
        actor=steward(personas), proposal=proposal, value={"contact": peter.pk}
    )
    assert set(peter.emails.values_list("email", flat=True)) == {"pp@home.example",
                                                                 "peter.parker@globex.com"}  # fmt: skip
    assert EntryLink.objects.filter(contact=peter).count() == 1
    assert Contact.objects.count() == 1


def test_no_reply_senders_free_mail_and_the_switch(personas):
    receive("noreply.eml")
    assert not Proposal.objects.exists()
    admin = Actor(user=personas["alice"])
    proposals.capture_settings_update(actor=admin, unknown_senders=False)
    receive("unknown.eml")
    assert not Proposal.objects.exists()
    assert proposals.account_for_address("someone@gmail.com") is None


def test_a_rejected_unknown_sender_is_not_proposed_again(personas):
    receive("unknown.eml")
    proposal = pending(kind="new_contact").get()
    proposals.proposal_reject(actor=steward(personas), proposal=proposal)
    raw = (SAMPLES / "unknown.eml").read_bytes().replace(b"sig-unknown-1", b"sig-unknown-2")
    mail.receive(raw, actor=SYSTEM)
    assert not pending().exists()


# --- decisions ------------------------------------------------------------------------------


def test_a_stale_version_or_a_second_decision_is_refused(personas, jane):
    receive("mobile.eml")
    title = pending(field="title").get()
    with pytest.raises(VersionConflict):
        proposals.proposal_accept(actor=steward(personas), proposal=title, expected_version=7)
    proposals.proposal_reject(actor=steward(personas), proposal=title, expected_version=1)
    with pytest.raises(Conflict):
        proposals.proposal_accept(actor=steward(personas), proposal=title)
    jane.refresh_from_db()
    assert jane.job_title == "Buyer"


def test_a_fact_the_record_has_by_now_becomes_obsolete(personas, jane):
    receive("mobile.eml")
    title = pending(field="title").get()
    from rapport.customers import services as customer_services

    customer_services.contact_update(
        actor=SYSTEM, contact=jane, data={"job_title": "Head of Purchasing"}
    )
    done = proposals.proposal_accept(actor=steward(personas), proposal=title)
    assert done.state == Proposal.State.OBSOLETE


@pytest.mark.parametrize("name", ["mo", "bob", "rita"])
def test_only_stewards_and_admins_decide(personas, jane, name):
    receive("mobile.eml")
    title = pending(field="title").get()
    with pytest.raises(PermissionDenied):
        proposals.proposal_accept(actor=Actor(user=personas[name]), proposal=title)
    with pytest.raises(PermissionDenied):
        proposals.proposal_reject(actor=Actor(user=personas[name]), proposal=title)


def test_unknown_value_fields_are_refused(personas, jane):
    receive("mobile.eml")
    title = pending(field="title").get()
    with pytest.raises(ValidationFailed) as exc:
        proposals.proposal_accept(actor=steward(personas), proposal=title, value={"colour": "red"})
    assert "value.colour" in exc.value.errors


def test_a_number_removed_after_it_was_applied_is_not_added_back_by_itself(personas, jane):
    from rapport.customers import services as customer_services

    receive("mobile.eml")
    mobile = jane.phones.get(e164="+447400123456")
    customer_services.part_delete(actor=SYSTEM, parent=jane, part="phones", obj=mobile)
    receive("mobile-again.eml")
    assert not jane.phones.filter(e164="+447400123456").exists()
    again = pending(field="mobile").get()
    assert again.rule == "review: mobile was applied before and removed since"


def test_a_failure_while_learning_never_loses_the_message(personas, jane, monkeypatch):
    from rapport.ingest.mail import signature

    def broken(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(signature, "read", broken)
    _, result = receive("mobile.eml")
    assert result.status == "stored"
    assert EntryLink.objects.filter(contact=jane).count() == 1
    assert not Proposal.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_stewards_deciding_at_once_apply_the_fact_once(personas, jane):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    receive("mobile.eml")
    title = pending(field="title").get()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(name: str, value: str) -> None:
        from django.db import connection as own

        try:
            barrier.wait()
            proposals.proposal_accept(
                actor=Actor(user=personas[name]), proposal=title, value={"title": value},
                expected_version=1,
            )  # fmt: skip
            outcomes.append("accepted")
        except (Conflict, VersionConflict):
            outcomes.append("refused")
        finally:
            own.close()

    threads = [threading.Thread(target=decide, args=(n, v)) for n, v in
               (("stella", "CFO"), ("alice", "CEO"))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted", "refused"]
    updates = AuditEntry.objects.filter(
        entity_kind="contact", entity_id=jane.pk, action="update", changes__has_key="job_title"
    )
    assert updates.count() == 1


def test_two_messages_from_one_unknown_sender_are_one_proposal_and_both_land(personas):
    receive("unknown.eml")
    raw = (SAMPLES / "unknown.eml").read_bytes()
    raw = raw.replace(b"sig-unknown-1", b"sig-unknown-2").replace(b"Demo request", b"Demo date")
    mail.receive(raw, actor=SYSTEM)
    proposal = pending(kind="new_contact").get()
    assert proposal.sightings == 2 and len(proposal.evidence["messages"]) == 2
    done = proposals.proposal_accept(actor=steward(personas), proposal=proposal)
    summaries = set(
        EntryLink.objects.filter(contact_id=done.result["contact"]).values_list(
            "entry__summary", flat=True
        )
    )
    assert summaries == {"Demo request", "Demo date"}
