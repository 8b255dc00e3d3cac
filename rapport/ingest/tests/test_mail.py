"""E-mail onto the timeline: the sample messages in tests/mail/ are real RFC 5322 text."""

from __future__ import annotations

import io
import mailbox
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from rapport.audit.services import Actor
from rapport.customers.tests.factories import make_contact
from rapport.ingest.mail import services as mail
from rapport.timeline.models import Attachment, Entry
from rapport.timeline.selectors import timeline

SAMPLES = Path(__file__).parent / "mail"
SYSTEM = Actor(user=None, via="import")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def links_of(user, contact):
    return timeline(actor=user, kind="contact", pk=contact.pk).items


# --- Parsing -------------------------------------------------------------------------------


def test_plain_message_gives_headers_and_body():
    m = mail.parse(sample("plain.eml"))
    assert m.message_id == "quote-40-seats.1741000000@mail.acme.com"
    assert m.subject == "Quote for 40 seats"
    assert m.from_ == ("Jane Doe", "jane.doe@acme.com")
    assert m.to == [("Alice Admin", "alice@example.org")]
    assert m.cc == [("Tom Lee", "tom.lee@globex.com")]
    assert m.sent_at.isoformat() == "2025-03-03T10:15:00+01:00"
    assert m.text.startswith("Hello Alice,\n\nCould you send us a quote")
    assert m.new_text == m.text
    assert m.attachments == []
    assert m.thread_id == m.message_id


def test_html_only_body_becomes_text_without_tags_or_script():
    m = mail.parse(sample("html-only.eml"))
    assert "<" not in m.text and ">" not in m.text
    assert "steal-cookies" not in m.text and "more script text" not in m.text
    assert "color: red" not in m.text and "Quote mail" not in m.text
    assert m.text.splitlines()[0] == "Dear Jane,"
    assert "Here is your quote: 40 seats at 12 EUR per seat & month." in m.text
    assert "- Yearly billing\n- Start in April" in m.text
    assert m.text.endswith("Best regards,\nAlice")


def test_alternative_message_takes_the_plain_part_decoded():
    m = mail.parse(sample("alternative.eml"))
    assert m.subject == "Rückfrage zum Angebot"
    assert m.from_ == ("Hans Müller", "hans.mueller@acme.com")
    assert "können Sie den Preis in € bestätigen?" in m.text
    assert "<p>" not in m.text
    assert m.attachments == []  # the HTML alternative is not an attachment


def test_mixed_message_keeps_its_pdf_attachment():
    m = mail.parse(sample("mixed-pdf.eml"))
    assert m.text == "Hi Jane, hi Tom,\n\nplease find the contract attached.\n\nBob"
    assert len(m.attachments) == 1
    pdf = m.attachments[0]
    assert (pdf.filename, pdf.content_type) == ("contract.pdf", "application/pdf")
    assert pdf.payload.startswith(b"%PDF-1.4") and pdf.size == len(pdf.payload)


def test_latin1_body_and_encoded_word_headers_are_decoded():
    m = mail.parse(sample("latin1.eml"))
    assert m.subject == "Angebot für Grüße GmbH"
    assert m.from_ == ("Jürgen Müller", "j.mueller@hoffmann-bau.de")
    assert "Angebot für die Größe XL" in m.text
    assert m.text.endswith("Jürgen Müller")


def test_windows_1252_body_keeps_euro_sign_and_quotes():
    m = mail.parse(sample("cp1252.eml"))
    assert m.subject == "Prix en € - devis signé"
    assert m.from_[0] == "Élodie Dupont"
    assert "1 200 € HT, “tout compris”." in m.text


def test_latin1_label_on_windows_1252_bytes_still_gives_the_euro_sign():
    raw = sample("cp1252.eml").replace(b"charset=windows-1252", b"charset=ISO-8859-1")
    assert "1 200 € HT" in mail.parse(raw).text


def test_reply_folds_quoted_history_and_threads_to_the_original():
    m = mail.parse(sample("reply.eml"))
    assert m.new_text == "Thanks Alice, that works for us. Please go ahead.\n\nJane"
    assert "> 40 seats at 12 EUR" in m.text  # the full text is kept
    assert m.in_reply_to == "quote-40-seats.1741000000@mail.acme.com"
    assert m.references == [
        "quote-40-seats.1741000000@mail.acme.com",
        "answer-1.1741050000@example.org",
    ]
    assert m.thread_id == mail.parse(sample("plain.eml")).message_id


@pytest.mark.parametrize(
    "text",
    [
        "Sounds good.\n\n-----Original Message-----\nFrom: Jane\nOld text",
        "Sounds good.\n> Old text\n> more",
        "Sounds good.\nOn Mon, 3 Mar 2025, Jane <jane.doe@acme.com> wrote:\nOld text",
        "Sounds good.\n\nLe lun. 3 mars 2025, Jane a écrit :\nOld text",
    ],
)
def test_quoted_history_markers_are_folded(text):
    assert mail.fold_quoted(text) == "Sounds good."


def test_forwarded_message_keeps_the_forwarded_text():
    m = mail.parse(sample("forwarded.eml"))
    assert m.subject == "Fwd: Quote for 40 seats"
    assert "---------- Forwarded message ---------" in m.new_text
    assert m.new_text.endswith("Could you send us a quote for 40 seats, billed yearly?")


def test_broken_message_is_a_mail_problem_with_its_reasons():
    with pytest.raises(mail.MailProblem) as exc:
        mail.parse(sample("broken.eml"))
    assert "no sender" in exc.value.reason
    assert "boundary never appears" in exc.value.reason


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"just some words, no headers at all"])
def test_input_that_is_not_a_message_is_a_mail_problem(raw):
    with pytest.raises(mail.MailProblem):
        mail.parse(raw)


def test_message_without_message_id_gets_a_stable_generated_one():
    raw = sample("plain.eml").replace(
        b"Message-ID: <quote-40-seats.1741000000@mail.acme.com>\r\n", b""
    )
    first, again = mail.parse(raw), mail.parse(raw)
    assert first.message_id == again.message_id
    assert first.message_id.endswith("@generated.rapport")
    assert first.message_id != mail.parse(raw + b"P.S.\r\n").message_id


def test_missing_date_falls_back_to_now():
    raw = sample("plain.eml").replace(b"Date: Mon, 3 Mar 2025 10:15:00 +0100\r\n", b"")
    before = timezone.now()
    m = mail.parse(raw)
    assert before <= m.sent_at <= timezone.now()


# --- Storing -------------------------------------------------------------------------------


@pytest.fixture
def jane(db):
    return make_contact(full_name="Jane Doe", emails=["Jane.Doe@acme.com"])


@pytest.fixture
def tom(db):
    return make_contact(full_name="Tom Lee", emails=["tom.lee@globex.com"])


def test_store_puts_one_inbound_entry_on_each_matched_contact_with_roles(alice, jane, tom):
    result = mail.store(mail.parse(sample("plain.eml")), actor=SYSTEM)
    assert result.status == "stored" and result.contacts == sorted([jane.pk, tom.pk])
    [jane_link] = links_of(alice, jane)
    [tom_link] = links_of(alice, tom)
    assert jane_link.entry_id == tom_link.entry_id == result.entry.pk
    assert (jane_link.role, tom_link.role) == ("from", "cc")
    entry = jane_link.entry
    assert (entry.kind, entry.channel, entry.direction) == ("email", "email", "in")
    assert entry.summary == "Quote for 40 seats"
    assert entry.staff == alice  # the staff recipient
    assert entry.data["thread_id"] == "quote-40-seats.1741000000@mail.acme.com"
    assert entry.data["from"] == "jane.doe@acme.com"
    assert entry.data["cc"] == ["tom.lee@globex.com"]
    assert entry.data["text_length"] == len(mail.parse(sample("plain.eml")).text)


def test_message_from_a_staff_address_is_outbound_with_its_attachment(alice, bob, jane, tom):
    result = mail.store(mail.parse(sample("mixed-pdf.eml")), actor=SYSTEM)
    [link] = links_of(alice, jane)
    assert link.role == "to"
    assert link.entry.direction == "out" and link.entry.staff == bob
    [att] = link.entry.attachments.all()
    assert (att.name, att.content_type, att.size) == ("contract.pdf", "application/pdf", 125)
    with att.file.open("rb") as f:
        assert f.read().startswith(b"%PDF-1.4")
    assert result.entry.pk == link.entry_id


def test_reply_body_on_the_timeline_is_the_new_text(alice, jane):
    mail.store(mail.parse(sample("reply.eml")), actor=SYSTEM)
    [link] = links_of(alice, jane)
    assert link.entry.body == "Thanks Alice, that works for us. Please go ahead.\n\nJane"
    assert link.entry.data["thread_id"] == "quote-40-seats.1741000000@mail.acme.com"


def test_storing_the_same_message_twice_gives_one_entry(alice, jane):
    first = mail.store(mail.parse(sample("mixed-pdf.eml")), actor=SYSTEM)
    again = mail.store(mail.parse(sample("mixed-pdf.eml")), actor=SYSTEM)
    assert (first.status, again.status) == ("stored", "duplicate")
    assert again.entry.pk == first.entry.pk
    assert Entry.objects.count() == 1 and Attachment.objects.count() == 1
    assert len(links_of(alice, jane)) == 1


def test_message_matching_no_contact_is_unmatched_and_not_stored(personas, jane):
    result = mail.store(mail.parse(sample("latin1.eml")), actor=SYSTEM)
    assert result.status == "unmatched" and result.entry is None
    assert result.sender == ("Jürgen Müller", "j.mueller@hoffmann-bau.de")
    assert result.unknown == [("Jürgen Müller", "j.mueller@hoffmann-bau.de")]  # not alice
    assert Entry.objects.count() == 0


def test_oversized_attachment_is_skipped_and_noted(settings, alice, jane):
    settings.MAIL_MAX_ATTACHMENT_BYTES = 100
    message = mail.parse(sample("mixed-pdf.eml"))
    assert message.attachments == []
    mail.store(message, actor=SYSTEM)
    [link] = links_of(alice, jane)
    assert link.entry.attachments.count() == 0
    [skipped] = link.entry.data["attachments_skipped"]
    assert skipped["filename"] == "contract.pdf" and skipped["size"] == 125
    assert "100" in skipped["reason"]


# --- Files and the command -------------------------------------------------------------------


def write_mbox(path: Path, names: list[str]) -> Path:
    box = mailbox.mbox(str(path))
    for name in names:
        box.add(sample(name))
    box.flush()
    box.close()
    return path


def test_mbox_with_a_broken_message_stores_the_others_and_reports_it(tmp_path, alice, jane):
    path = write_mbox(tmp_path / "inbox.mbox", ["plain.eml", "broken.eml", "reply.eml"])
    summary = mail.ingest_file(path, SYSTEM)
    assert (summary.read, summary.stored, summary.duplicates) == (3, 2, 0)
    [(label, reason)] = summary.errors
    assert label.startswith("message 2") and "no sender" in reason
    assert [link.entry.summary for link in links_of(alice, jane)] == [
        "Re: Quote for 40 seats",
        "Quote for 40 seats",
    ]


def stored_files() -> set[Path]:
    return {p for p in (Path(settings.MEDIA_ROOT) / "timeline").rglob("*") if p.is_file()}


def test_a_failing_store_writes_nothing_for_that_message_only(tmp_path, monkeypatch, alice, jane):
    path = write_mbox(tmp_path / "inbox.mbox", ["mixed-pdf.eml", "plain.eml"])
    real_save = Attachment.save

    def failing_save(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Attachment, "save", failing_save)
    files_before = stored_files()
    summary = mail.ingest_file(path, SYSTEM)
    monkeypatch.setattr(Attachment, "save", real_save)
    assert stored_files() == files_before  # the PDF written before the failure is removed
    assert summary.stored == 1 and summary.errors[0][1] == "RuntimeError: disk full"
    assert [link.entry.summary for link in links_of(alice, jane)] == ["Quote for 40 seats"]


def test_single_eml_file_is_one_message(tmp_path, alice, jane):
    summary = mail.ingest_file(SAMPLES / "reply.eml", SYSTEM)
    assert (summary.read, summary.stored) == (1, 1)


def test_ingest_command_prints_its_counts(tmp_path, alice, jane):
    path = write_mbox(
        tmp_path / "inbox.mbox", ["plain.eml", "plain.eml", "latin1.eml", "broken.eml"]
    )
    out = io.StringIO()
    call_command("ingest", "mail", str(path), "--user", "alice", stdout=out)
    text = out.getvalue()
    assert "4 messages read: 1 stored, 1 duplicates, 1 unmatched, 1 errors." in text
    assert "unmatched: from Jürgen Müller <j.mueller@hoffmann-bau.de>" in text
    assert "error: message 4: The message is broken: no sender" in text
