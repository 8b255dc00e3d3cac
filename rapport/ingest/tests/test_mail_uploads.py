"""Mail files over MAIL_UPLOAD_INLINE_BYTES: stored, read by the worker as the uploader,
shown on a status page and at GET /capture/mail/uploads/{id}."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rapport.customers.tests.factories import make_contact
from rapport.ingest.mail import upload_runs
from rapport.ingest.mail.tasks import mail_upload_task
from rapport.ingest.models import MailUpload
from rapport.ingest.tests.test_capture_views import MAIL_URL, mail_bytes
from rapport.timeline.models import Entry

API = "/api/v1"


def mbox(*messages: bytes) -> bytes:
    return b"".join(
        b"From sender@example.com Mon Nov 16 10:00:00 2026\n" + m + b"\n" for m in messages
    )


@pytest.fixture
def web(client, personas):
    def login(name: str):
        client.force_login(personas[name])
        return client

    return login


@pytest.fixture
def jane(personas):
    return make_contact(
        given_name="Jane",
        family_name="Whitfield",
        emails=["jane.whitfield@acmewidgets.co.uk"],
        owner=personas["bob"],
    )


@pytest.fixture
def box() -> bytes:
    stranger = mail_bytes(subject="Hello").replace(
        b"jane.whitfield@acmewidgets.co.uk", b"someone@initech.com"
    )
    return mbox(mail_bytes(subject="One"), mail_bytes(subject="Two"), stranger)


@pytest.fixture
def runs(monkeypatch) -> list[int]:
    """The upload ids the task ran for: proof the file went through mail_upload_task."""
    seen: list[int] = []
    real = upload_runs.mail_upload_run

    def spy(*, upload_id: int) -> None:
        seen.append(upload_id)
        real(upload_id=upload_id)

    monkeypatch.setattr(upload_runs, "mail_upload_run", spy)
    return seen


def test_a_large_mail_file_is_read_by_the_worker_and_its_page_shows_the_counts(
    web, jane, box, runs, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_UPLOAD_INLINE_BYTES = 100
    client = web("bob")
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(MAIL_URL, {"file": SimpleUploadedFile("box.mbox", box)})
    upload = MailUpload.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("ingest:mail-upload-detail", args=[upload.pk])
    assert runs == [upload.pk]
    assert upload.status == "done" and upload.uploaded_by == jane.owner
    assert (upload.read, upload.stored, upload.duplicates, upload.unmatched, upload.errors) == (
        3, 2, 0, 1, 0,
    )  # fmt: skip
    assert [o["status"] for o in upload.outcomes] == ["stored", "stored", "unmatched"]
    assert Entry.objects.filter(kind="email", links__contact=jane).count() == 2
    assert upload.file_path == "" and upload.finished_at is not None
    assert not _stored_mail_files()
    page = client.get(answer["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "<dt>Stored</dt><dd>2</dd>" in html and "someone@initech.com" in html
    assert "every 2s" not in html  # done: the page stops polling


def test_the_status_page_polls_while_the_upload_is_queued(web, personas):
    upload = MailUpload.objects.create(uploaded_by=personas["bob"], file_name="b.mbox", size=9)
    fragment = web("bob").get(
        reverse("ingest:mail-upload-detail", args=[upload.pk]), headers={"HX-Request": "true"}
    )
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert 'hx-trigger="every 2s"' in html and "Queued" in html


def test_an_upload_is_its_uploaders_and_the_admins_others_get_404(web, api_client, personas):
    upload = MailUpload.objects.create(
        uploaded_by=personas["bob"], file_name="b.mbox", status="done"
    )
    url = reverse("ingest:mail-upload-detail", args=[upload.pk])
    api_url = f"{API}/capture/mail/uploads/{upload.pk}"
    assert web("alice").get(url).status_code == 200
    assert api_client("alice").get(api_url).status_code == 200
    for other in ("carl", "mo"):
        assert web(other).get(url).status_code == 404
        refused = api_client(other).get(api_url)
        assert refused.status_code == 404
        assert refused["Content-Type"] == "application/problem+json"


def test_the_api_answers_202_with_the_upload_and_its_location(
    api_client, jane, box, runs, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_UPLOAD_INLINE_BYTES = 100
    client = api_client("bob")
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"{API}/capture/mail", {"file": SimpleUploadedFile("box.mbox", box)})
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["status"] == "queued" and body["file_name"] == "box.mbox"
    assert answer["Location"] == f"{API}/capture/mail/uploads/{body['id']}"
    assert runs == [body["id"]]
    status = client.get(answer["Location"]).json()
    assert status["status"] == "done"
    assert (status["read"], status["stored"], status["unmatched"], status["errors"]) == (3, 2, 1, 0)
    assert [m["status"] for m in status["messages"]] == ["stored", "stored", "unmatched"]


def test_running_the_task_again_doubles_nothing(
    web, jane, box, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_UPLOAD_INLINE_BYTES = 100
    with django_capture_on_commit_callbacks(execute=True):
        web("bob").post(MAIL_URL, {"file": SimpleUploadedFile("box.mbox", box)})
    upload = MailUpload.objects.get()
    before = upload.finished_at
    mail_upload_task.call(upload.pk)  # a done upload is skipped
    upload.refresh_from_db()
    assert upload.finished_at == before and upload.stored == 2
    # A worker that died half-way leaves it running, its file still stored: the rerun
    # reads it again and stores no message twice.
    upload.file_path = default_storage.save("mail/again.upload", ContentFile(box))
    upload.status = "running"
    upload.save()
    with django_capture_on_commit_callbacks(execute=True):
        mail_upload_task.call(upload.pk)
    upload.refresh_from_db()
    assert upload.status == "done" and (upload.stored, upload.duplicates) == (0, 2)
    assert Entry.objects.filter(kind="email").count() == 2
    assert not _stored_mail_files()


def test_a_file_under_the_limit_is_still_read_in_the_request(web, jane, box, runs, settings):
    settings.MAIL_UPLOAD_INLINE_BYTES = len(box)
    page = web("bob").post(MAIL_URL, {"file": SimpleUploadedFile("box.mbox", box)})
    assert page.status_code == 200 and page.context["stored"] == 2
    assert runs == [] and not MailUpload.objects.exists()


def test_the_worker_reads_as_the_uploader_so_mail_lands_only_on_contacts_they_see(
    web, personas, box, settings, django_capture_on_commit_callbacks
):
    make_contact(
        given_name="Jane",
        family_name="Whitfield",
        emails=["jane.whitfield@acmewidgets.co.uk"],
        owner=personas["bob"],
    )
    settings.MAIL_UPLOAD_INLINE_BYTES = 100
    with django_capture_on_commit_callbacks(execute=True):
        web("carl").post(MAIL_URL, {"file": SimpleUploadedFile("box.mbox", box)})
    upload = MailUpload.objects.get()
    assert upload.status == "done" and upload.stored == 0 and upload.unmatched == 3
    assert not Entry.objects.filter(kind="email").exists()


def _stored_mail_files() -> list[str]:
    return default_storage.listdir("mail")[1] if default_storage.exists("mail") else []
