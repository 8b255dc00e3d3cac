"""The whole-database erasure test (issue 16): a person touched by every app, erased, then
every text column of every table in the database, and every file under the media folder,
searched for any of their values. None may be found.

The tables and columns come from the database's own catalogue (``connection.introspection``),
not from a list: a table added by a new app is searched without anyone telling this test.
Apps that exist only in part (surveys, marketing) are touched when their factories exist.
"""

from __future__ import annotations

import datetime as dt
import email.message
import importlib
import io
import os
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from rapport.audit.models import AuditEntry
from rapport.consent.models import (
    ConsentEvent,
    OutboundMessage,
    PrivacyRequest,
    Suppression,
)
from rapport.consent.requests import services as requests
from rapport.consent.sending import OutboundEmail, send_queue
from rapport.consent.tests.factories import grant, withdraw
from rapport.core import privacy
from rapport.core.actor import Actor
from rapport.customers import services as customers
from rapport.customers.models import Contact
from rapport.customers.services import ContactParts
from rapport.customers.tests.factories import make_account, make_contact
from rapport.followups.tests.factories import make_task
from rapport.identity import services as identity
from rapport.identity.models import Merge
from rapport.ingest.mail import services as mail
from rapport.ingest.models import ImportJob, ImportRejection, Proposal
from rapport.ingest.tests.helpers import csv_bytes, run_import
from rapport.sales import services as sales
from rapport.sales.models import DealRole
from rapport.sales.tests.factories import make_deal, make_lead
from rapport.service import services as service
from rapport.service.tests.factories import make_case
from rapport.timeline import services as timeline
from rapport.timeline.models import Attachment, Entry

GIVEN, FAMILY = "Zebulon", "Quatermaine"
FULL = f"{GIVEN} {FAMILY}"
EMAIL = "zebulon.quatermaine@orchard-erasure.example"
OLD_EMAIL = "zq.private@mailbox-erasure.example"
PHONE = "+442079460461"
PHONE_NATIONAL = "020 7946 0461"
STREET = "17 Wisteria Crescent"
NOTE = "Wants the cider press demo before the harvest festival"
ATTACHMENT_TEXT = "Quatermaine household inventory: copper still"

# What must be nowhere afterwards: each of the person's values, in the forms they may take.
NEEDLES = [FULL, FAMILY, EMAIL, OLD_EMAIL, PHONE, PHONE.lstrip("+"), "2079460461",
           PHONE_NATIONAL, "+447911123462", "07911 123462", STREET, NOTE, "cider press demo",
           "copper still"]  # fmt: skip


def _text_columns() -> list[tuple[str, list[str]]]:
    """Every table of the database and its text-like columns (char, text, JSON), read from
    the database's catalogue."""
    out = []
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            columns = []
            for col in connection.introspection.get_table_description(cursor, table):
                try:
                    kind = connection.introspection.get_field_type(col.type_code, col)
                except KeyError:
                    kind = str(col.type_code)
                if kind in ("CharField", "TextField", "JSONField", "SlugField", "EmailField") or (
                    isinstance(kind, str)
                    and any(t in kind.lower() for t in ("char", "text", "json"))
                ):
                    columns.append(col.name)
            if columns:
                out.append((table, columns))
    return out


def _database_hits(needles: list[str]) -> list[str]:
    q = connection.ops.quote_name
    hits = []
    with connection.cursor() as cursor:
        for table, columns in _text_columns():
            for column in columns:
                for needle in needles:
                    cursor.execute(
                        f"SELECT COUNT(*) FROM {q(table)} WHERE LOWER(CAST({q(column)} AS TEXT)) LIKE %s",  # noqa: S608 - names from the catalogue
                        [f"%{needle.lower()}%"],
                    )
                    if cursor.fetchone()[0]:
                        hits.append(f"{table}.{column} holds {needle!r}")
    return hits


def _file_texts(path: Path) -> list[tuple[str, bytes]]:
    data = path.read_bytes()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return [(f"{path}!{n}", z.read(n)) for n in z.namelist()]
    return [(str(path), data)]


def _media_hits(needles: list[str]) -> list[str]:
    hits = []
    for root, _dirs, files in os.walk(settings.MEDIA_ROOT):
        for name in files:
            for where, data in _file_texts(Path(root) / name):
                lowered = data.lower()
                hits += [f"{where} holds {n!r}" for n in needles if n.lower().encode() in lowered]
    return hits


def _eml(
    *, sender: str, to: str, subject: str, text: str, attachment: bytes | None = None
) -> bytes:
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject)))}@erasure.example>"
    msg["Date"] = "Mon, 02 Nov 2026 10:00:00 +0000"
    msg.set_content(text)
    if attachment is not None:
        msg.add_attachment(attachment, maintype="text", subtype="plain", filename="inventory.txt")
    return msg.as_bytes()


def _touch_optional_apps(person: Contact) -> list[str]:
    """Rows of the apps being written this session, through their own factories, when
    those exist; returns what was touched."""
    touched = []
    try:
        surveys = importlib.import_module("rapport.surveys.tests.factories")
    except ImportError:
        surveys = None
    if surveys is not None and hasattr(surveys, "make_survey") and hasattr(surveys, "answer"):
        survey = surveys.make_survey()
        invitation = surveys.invite(survey, person)
        if invitation is not None:
            surveys.answer(invitation, score=4, comment=f"{NOTE}, says {FULL}")
        touched.append("surveys")
    try:
        marketing = importlib.import_module("rapport.marketing.tests.factories")
        models = importlib.import_module("rapport.marketing.models")
    except ImportError:
        return touched
    # Their rows as a sent campaign, a static segment and an event leave them (written
    # directly where no service for them exists yet).
    campaign = marketing.make_campaign(variants=1)
    models.CampaignRecipient.objects.create(
        campaign=campaign, variant=campaign.variants.first(), contact=person, address=EMAIL,
        draw=0.5, status="sent",
    )  # fmt: skip
    segment = marketing.make_segment(name="Growers")
    models.SegmentMember.objects.create(segment=segment, contact=person)
    event = models.Event.objects.create(name="Cider fair", starts_on=dt.date(2026, 10, 1))
    models.EventContact.objects.create(event=event, contact=person, note=f"Met {FULL} at the fair")
    touched.append("marketing")
    return touched


@pytest.fixture
def world(personas, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    stella, bob = personas["stella"], personas["bob"]
    system = Actor(user=None, via="system")
    account = make_account(name="Orchard Machinery Ltd", owner=bob)
    with django_capture_on_commit_callbacks(execute=True):
        person = customers.contact_create(
            actor=system,
            data={"given_name": GIVEN, "family_name": FAMILY, "owner": bob.pk,
                  "job_title": "Head grower"},
            parts=ContactParts(
                emails=[{"email": EMAIL}],
                phones=[{"number": PHONE}],
                addresses=[{"street": STREET, "city": "Ledbury", "postal_code": "HR8 1AB",
                            "country": "GB"}],
                memberships=[{"account": account.pk, "job_title": "Head grower"}],
            ),
        )  # fmt: skip
        other = make_contact(full_name="Ottilie Brandwood", emails=["ottilie@brandwood.example"])
        # Their duplicate, merged into them: the merge keeps its row (undo data).
        duplicate = make_contact(given_name=GIVEN, family_name=FAMILY, emails=[OLD_EMAIL])
        identity.records_merge(
            actor=Actor(stella), kind="contact", survivor_id=person.pk, merged_ids=[duplicate.pk]
        )
        timeline.note_add(actor=Actor(bob), kind="contact", pk=person.pk, body=NOTE)
        timeline.entry_add(
            actor=Actor(bob),
            data={"kind": "call", "summary": f"Call with {FULL}", "body": f"Called {PHONE_NATIONAL}",
                  "contacts": [person.pk]},
        )  # fmt: skip
        # Mail from them with an attachment, and one to them and someone else (shared).
        mail.receive(
            _eml(sender=f"{FULL} <{EMAIL}>", to=bob.email, subject="Inventory",
                 text=f"Hello,\n\n{NOTE}\n\n--\n{FULL}\nHead grower\nMobile: +44 7911 123462\n",
                 attachment=ATTACHMENT_TEXT.encode()),
            actor=system,
        )  # fmt: skip
        mail.receive(
            _eml(sender=bob.email, to=f"{FULL} <{EMAIL}>, ottilie@brandwood.example",
                 subject="Harvest visit", text=f"Dear {GIVEN}, dear Ottilie, see you at {STREET}."),
            actor=system,
        )  # fmt: skip
        # An import that updates them, and one of their rows rejected (the e-mail is bad).
        run_import(
            personas["alice"],
            csv_bytes([["First name", "Last name", "Email", "Phone", "Job title"],
                       [GIVEN, FAMILY, EMAIL, PHONE_NATIONAL, "Chief grower"],
                       [GIVEN, FAMILY, "zebulon(at)nowhere", PHONE_NATIONAL, "Grower"],
                       ["Ottilie", "Brandwood", "ottilie@brandwood.example", "", "Owner"]]),
            filename="growers.csv",
        )  # fmt: skip
        deal = make_deal(account=account, owner=bob, name="Press line 2027")
        sales.deal_role_add(actor=system, deal=deal, contact=person, role="decision_maker")
        make_lead(name=FULL, email=EMAIL, phone=PHONE, contact=person.pk, notes=NOTE)
        case = make_case(contact=person, subject=f"Press broken at {STREET}", description=NOTE)
        service.case_note_add(actor=system, case=case, body=f"{FULL} called from {PHONE_NATIONAL}")
        make_task(assignee=bob, contact=person, title=f"Call {FULL} back", notes=NOTE)
        grant(person, "newsletter")
        withdraw(person, "newsletter", source="email")
        send_queue(
            actor=system,
            message=OutboundEmail(contact_id=person.pk, to_address=EMAIL, purpose="service",
                                  subject=f"Your visit, {GIVEN}", text=f"See you at {STREET}"),
        )  # fmt: skip
        touched = _touch_optional_apps(person)
    return {"person": person, "other": other, "stella": stella, "touched": touched}


@pytest.mark.django_db(transaction=False)
def test_an_erased_person_is_nowhere_in_the_database_or_the_media_folder(
    world, django_capture_on_commit_callbacks
):
    person = world["person"]
    # The world holds them everywhere first (else the search below would prove nothing).
    before = _database_hits(NEEDLES)
    for table in ("customers_contact", "timeline_entry", "ingest_importrejection",
                  "identity_merge", "audit_auditentry", "sales_lead", "service_case",
                  "followups_task", "consent_outboundmessage"):  # fmt: skip
        assert any(h.startswith(f"{table}.") for h in before), table
    assert Proposal.objects.filter(contact=person).exists()
    assert Attachment.objects.exists() and _media_hits(NEEDLES)
    assert Merge.objects.filter(survivor_id=person.pk).exists()
    assert DealRole.objects.filter(contact=person).exists()

    steward = Actor(world["stella"])
    request = requests.privacy_request_create(
        actor=steward,
        data={"kind": "erasure", "contact": person.pk, "details": f"Email from {EMAIL}"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        done = requests.privacy_request_erase(actor=steward, request=request)

    assert _database_hits(NEEDLES) == []
    assert _media_hits(NEEDLES) == []
    # What the law needs stays: the objection (a hash), the fact of it, the request, who did it.
    assert Suppression.objects.filter(reason="erasure").count() >= 1
    assert done.status == "done" and done.contact_ref == person.pk
    assert done.record["kept"]["consent"]["withdrawals"][0]["purpose"] == "newsletter"
    assert AuditEntry.objects.filter(entity_kind="contact", entity_id=person.pk).exists()
    tomb = AuditEntry.objects.filter(entity_kind="contact", entity_id=person.pk).first()
    assert tomb is not None and tomb.action == "create" and tomb.actor_name == "system"
    # The other person is untouched: their contact, their copy of the shared mail.
    other = world["other"]
    assert Contact.objects.filter(pk=other.pk).exists()
    shared = Entry.objects.get(summary="Harvest visit")
    assert "Ottilie" in shared.body and "[erased]" in shared.body
    assert ImportRejection.objects.filter(cells__icontains="Brandwood").count() == 0
    assert ImportJob.objects.count() == 1
    assert not ConsentEvent.objects.exists() and not OutboundMessage.objects.exists()
    assert PrivacyRequest.objects.get(pk=request.pk).subject_label == f"Erased contact #{person.pk}"
    # The import file is still there for the other people in it.
    job = ImportJob.objects.get()
    with open(Path(settings.MEDIA_ROOT) / job.file_path, "rb") as f:
        assert b"Brandwood" in f.read()
    print("apps touched besides the core ones:", world["touched"])


@pytest.mark.django_db
def test_an_erasure_again_changes_nothing_and_says_so(world, django_capture_on_commit_callbacks):
    steward = Actor(world["stella"])
    request = requests.privacy_request_create(
        actor=steward, data={"kind": "erasure", "contact": world["person"].pk}
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = requests.privacy_request_erase(actor=steward, request=request)
    audit_count = AuditEntry.objects.count()
    again = requests.privacy_request_erase(actor=steward, request=first)
    assert again.record == first.record and AuditEntry.objects.count() == audit_count
    # The registry run again on the gone contact finds nothing left to change.
    report = privacy.erase_all(actor=steward, contact_id=world["person"].pk)
    assert report["customers"] == 0 and report["timeline"]["entries_deleted"] == 0


def test_every_model_about_a_person_has_a_handler():
    covered = {m for h in privacy.REGISTRY.values() for m in h.models}
    assert privacy.models_about_a_person() <= covered
    assert not privacy.PENDING
