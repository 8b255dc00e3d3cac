"""The e-mail digest for the people cases wait on: one e-mail listing the cases with
links, at most once a period, never when nothing waits, and once only when two workers
run it at the same moment."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from rapport.consent.models import OutboundMessage, Purpose
from rapport.consent.suppression import suppression_add
from rapport.customers.tests.factories import make_contact
from rapport.service import digest
from rapport.service.escalation import services as escalation
from rapport.service.models import reference_of
from rapport.service.sla.notify import mark_read, notify
from rapport.service.tests.factories import SYSTEM, ensure_builtin_kinds, make_case
from rapport.users.models import Team

LATER = dt.timedelta(hours=25)


@pytest.fixture
def waiting(personas):
    """sam (service, Desk) has an unread notification about a case of Desk."""
    desk = Team.objects.create(name="Desk")
    sam = personas["sam"]
    sam.teams.add(desk)
    nora = make_contact(owner=personas["bob"], full_name="Nora North")
    case = make_case(contact=nora, team=desk.pk, owner=sam.pk, subject="Lamp flickers")
    notify(
        recipients=[sam], case=case, kind="breach", text=f"{case.reference}: resolution breached"
    )
    return {"sam": sam, "case": case, "mo": personas["mo"], "nora": nora, "desk": desk}


def _run(capture, **kw):
    with capture(execute=True):
        return digest.digests_queue_due(**kw)


@pytest.mark.django_db
def test_one_digest_lists_the_cases_with_links(waiting, django_capture_on_commit_callbacks):
    sam, case = waiting["sam"], waiting["case"]
    assert _run(django_capture_on_commit_callbacks) == [sam.pk]
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [sam.email]
    assert sent.subject == "1 case waiting on you"
    assert f"{reference_of(case.pk)} Lamp flickers" in sent.body
    assert f"http://localhost:8000/cases/{case.pk}/" in sent.body
    assert "  - resolution breached\n" in sent.body  # the reference is not said twice
    row = OutboundMessage.objects.get(related_kind=digest.RELATED_KIND)
    assert (row.related_id, row.status, row.contact_id) == (sam.pk, "sent", None)


@pytest.mark.django_db
def test_a_digest_is_not_sent_twice_in_a_period(waiting, django_capture_on_commit_callbacks):
    sam = waiting["sam"]
    assert _run(django_capture_on_commit_callbacks) == [sam.pk]
    assert _run(django_capture_on_commit_callbacks) == []
    assert digest.digest_queue(user_id=sam.pk) is None
    soon = timezone.now() + dt.timedelta(hours=23)
    assert _run(django_capture_on_commit_callbacks, now=soon) == []
    assert len(mail.outbox) == 1
    # A day later, still unread: the next digest.
    assert _run(django_capture_on_commit_callbacks, now=timezone.now() + LATER) == [sam.pk]
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_no_digest_when_nothing_waits(waiting, django_capture_on_commit_callbacks):
    sam = waiting["sam"]
    mark_read(user=sam)
    assert digest.due_users() == []
    assert _run(django_capture_on_commit_callbacks) == []
    assert digest.digest_queue(user_id=sam.pk) is None
    assert mail.outbox == []
    assert not OutboundMessage.objects.filter(related_kind=digest.RELATED_KIND).exists()


@pytest.mark.django_db
def test_an_escalated_question_waits_on_the_person_asked(
    waiting, django_capture_on_commit_callbacks
):
    mo, case = waiting["mo"], waiting["case"]
    mark_read(user=waiting["sam"])
    escalation.escalation_request(actor=SYSTEM, case=case, to_user=mo.pk, question="Refund?")
    mark_read(user=mo)  # the in-app notice read: the question still waits for an answer
    assert _run(django_capture_on_commit_callbacks) == [mo.pk]
    (sent,) = mail.outbox
    assert sent.to == [mo.email]
    assert "Question for you: Refund?" in sent.body
    assert reference_of(case.pk) in sent.body


@pytest.mark.django_db
def test_inactive_people_and_people_without_an_address_get_none(
    waiting, django_capture_on_commit_callbacks
):
    sam = waiting["sam"]
    sam.email = ""
    sam.save(update_fields=["email"])
    assert digest.due_users() == []
    sam.email, sam.is_active = "sam@example.org", False
    sam.save(update_fields=["email", "is_active"])
    assert _run(django_capture_on_commit_callbacks) == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_suppressed_address_is_blocked_by_the_gate(waiting, django_capture_on_commit_callbacks):
    suppression_add(channel="email", address=waiting["sam"].email, reason="bounce")
    _run(django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert OutboundMessage.objects.get(related_kind=digest.RELATED_KIND).status == "blocked"


@pytest.fixture
def seeded(transactional_db):
    """What the migrations seed, which a transactional test's flush may have removed."""
    ensure_builtin_kinds()
    Purpose.objects.get_or_create(
        key="service", defaults={"label": "Service messages", "lawful_basis": "contract"}
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_digest(seeded, waiting):
    sam = waiting["sam"]
    start = threading.Barrier(2)
    results: list[int | None] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(digest.digest_queue(user_id=sam.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results, key=lambda r: r is None)[1:] == [None]
    assert OutboundMessage.objects.filter(related_kind=digest.RELATED_KIND).count() == 1
