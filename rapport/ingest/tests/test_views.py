"""The import pages: upload, map, preview, start, follow, cancel, resume, undo, download."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import actor
from rapport.customers import services as customer_services
from rapport.customers.models import Account, Contact
from rapport.ingest.models import ImportJob, SavedMapping
from rapport.ingest.tests.helpers import csv_bytes, run_import, upload

HEADER = ["Name", "E-mail", "Phone"]
ROWS = [
    ["Ada Lovelace", "ada@example.com", "020 7946 0018"],
    ["Bad Row", "not-an-email", ""],
    ["Grace Hopper", "grace@example.com", ""],
]
CSV = csv_bytes([HEADER, *ROWS])
SETTINGS = {"region": "GB", "source": "old-crm", "on_match": "fill_empty", "create_accounts": "on"}


def _file(data: bytes = CSV, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _detail(job: ImportJob) -> str:
    return reverse("ingest:import-detail", args=[job.pk])


def _mapping_post(**columns: str) -> dict[str, str]:
    return {**SETTINGS, **columns}


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select id="f-{name}" name="{name}">(.*?)</select>', page, re.S)
    assert select, name
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(1))
    return chosen.group(1) if chosen else ""


# --- the whole flow -----------------------------------------------------------------------


def test_upload_map_preview_start_then_the_page_shows_the_counts(
    personas, django_capture_on_commit_callbacks
):
    client = _client(personas["bob"])
    assert client.get(reverse("ingest:import-create")).status_code == 200

    response = client.post(reverse("ingest:import-create"), {"file": _file(), "kind": "contacts"})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == _detail(job)
    assert job.created_by == personas["bob"] and job.state == ImportJob.State.NEW

    page = client.get(_detail(job)).content.decode()
    # One <select> per header, pre-filled from the suggested mapping.
    assert [_selected(page, f"col-{i}") for i in range(3)] == ["full_name", "email", "phone"]
    assert "Ada Lovelace" not in page  # no preview yet

    post = _mapping_post(
        **{"col-0": "full_name", "col-1": "email", "col-2": "phone", "action": "preview"}
    )
    response = client.post(_detail(job), post)
    assert response.status_code == 200
    preview = response.content.decode()
    assert "Lovelace" in preview and "ada@example.com" in preview and "new contact" in preview
    assert preview.count('class="row-problem"') == 1  # the bad e-mail, highlighted
    assert "is not a valid e-mail address" in preview
    assert Contact.objects.count() == 0  # a preview writes nothing
    job.refresh_from_db()
    assert job.source == "old-crm" and job.mapping == {
        "Name": "full_name",
        "E-mail": "email",
        "Phone": "phone",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_detail(job), {**post, "action": "start"})
    assert response.status_code == 302 and response["Location"] == _detail(job)
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert (job.created, job.rejected) == (2, 1)

    page = client.get(_detail(job)).content.decode()
    counts = dict(re.findall(r"<dt>(\w[\w ]*)</dt><dd>(\d+)</dd>", page))
    assert counts["Created"] == "2" and counts["Rejected"] == "1" and counts["Updated"] == "0"
    assert "The import has started." in page
    ada = Contact.objects.get(full_name="Ada Lovelace")
    assert reverse("customers:contact-detail", args=[ada.pk]) in page
    assert reverse("ingest:import-rejected-csv", args=[job.pk]) in page
    assert '<td data-label="Row">3</td>' in page  # the rejections table
    assert 'hx-trigger="every 1s"' not in page  # nothing left to poll
    assert set(Contact.objects.values_list("full_name", flat=True)) == {
        "Ada Lovelace",
        "Grace Hopper",
    }


def test_the_list_shows_the_import_with_its_state_counts_and_owner(personas):
    job = run_import(personas["bob"], CSV)
    page = _client(personas["bob"]).get(reverse("ingest:import-list")).content.decode()
    assert _detail(job) in page and "people.csv" in page and "Done" in page and "bob" in page
    assert reverse("ingest:import-create") in page


def test_the_list_query_count_does_not_grow_with_imports(personas, django_assert_max_num_queries):
    client = _client(personas["alice"])
    run_import(personas["bob"], CSV)
    url = reverse("ingest:import-list")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(5):
        upload(personas["brenda"], csv_bytes([HEADER, [f"P{i}", f"p{i}@example.com", ""]]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_a_saved_mapping_is_saved_then_applied_to_the_next_file(personas):
    client = _client(personas["bob"])
    data = csv_bytes([["Who", "Mail"], ["Ada Lovelace", "ada@example.com"]])
    first = upload(personas["bob"], data, filename="a.csv")
    post = _mapping_post(
        **{"col-0": "full_name", "col-1": "email", "save_as": "Old CRM", "action": "preview"}
    )
    assert client.post(_detail(first), post).status_code == 200
    assert SavedMapping.objects.get(name="Old CRM").columns == {"Who": "full_name", "Mail": "email"}

    second = upload(personas["bob"], data + b"Grace Hopper,grace@example.com\r\n", filename="b.csv")
    assert (
        _selected(client.get(_detail(second)).content.decode(), "col-0") == ""
    )  # "Who" is no known name
    response = client.post(_detail(second), {"mapping_name": "Old CRM", "action": "apply"})
    assert response.status_code == 302
    page = client.get(_detail(second)).content.decode()
    assert [_selected(page, "col-0"), _selected(page, "col-1")] == ["full_name", "email"]
    assert _selected(page, "mapping_name") == "Old CRM"


def test_the_same_file_again_warns_that_it_changes_nothing(personas):
    first = run_import(personas["bob"], CSV)
    second = upload(personas["bob"], CSV, filename="copy.csv")
    page = _client(personas["bob"]).get(_detail(second)).content.decode()
    assert (
        f"imported before as import #{first.pk}" in page
        and "importing it again changes nothing" in page
    )


# --- form errors --------------------------------------------------------------------------


def test_an_upload_without_a_file_or_of_an_unreadable_file_is_shown_on_the_form(personas):
    client = _client(personas["bob"])
    response = client.post(reverse("ingest:import-create"), {"kind": "contacts"})
    assert response.status_code == 422 and 'id="f-file-error"' in response.content.decode()
    response = client.post(
        reverse("ingest:import-create"),
        {"file": _file(b"\x00\x01\x02" * 10, "x.xlsx"), "kind": "contacts"},
    )
    assert response.status_code == 422
    assert 'id="f-file-error"' in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_mapping_without_a_name_column_is_refused_with_the_choices_kept(personas):
    job = upload(personas["bob"], CSV)
    client = _client(personas["bob"])
    post = _mapping_post(
        **{"col-0": "", "col-1": "", "col-2": "phone", "region": "XX", "action": "start"}
    )
    response = client.post(_detail(job), post)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Map a column to the contact" in page
    assert "is not a two-letter region code" in page
    assert _selected(page, "col-2") == "phone" and _selected(page, "col-0") == ""
    job.refresh_from_db()
    assert job.state == ImportJob.State.NEW and job.mapping["Name"] == "full_name"


def test_a_column_the_role_may_not_write_is_refused_on_the_form(personas):
    job = upload(personas["bob"], csv_bytes([["Name", "Owner"], ["Ada", "alice"]]))
    post = _mapping_post(**{"col-0": "full_name", "col-1": "owner", "action": "preview"})
    response = _client(personas["bob"]).post(_detail(job), post)
    assert response.status_code == 422
    page = response.content.decode()
    # On the form, next to the mapping, not an error page.
    assert re.search(r'id="mapping-errors"><p>Owner: Your role may not set this field.</p>', page)
    job.refresh_from_db()
    assert job.source != "old-crm"  # nothing was saved


# --- who may see and do what --------------------------------------------------------------


def test_login_is_required(personas):
    job = upload(personas["bob"], CSV)
    for url in (reverse("ingest:import-list"), reverse("ingest:import-create"), _detail(job)):
        response = Client().get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


def test_a_read_only_user_may_not_upload_and_has_no_imports_link(personas):
    client = _client(personas["rita"])
    assert client.get(reverse("ingest:import-create")).status_code == 403
    assert (
        client.post(
            reverse("ingest:import-create"), {"file": _file(), "kind": "contacts"}
        ).status_code
        == 403
    )
    assert not ImportJob.objects.exists()
    page = client.get(reverse("ingest:import-list")).content.decode()
    assert reverse("ingest:import-create") not in page
    assert (
        reverse("ingest:import-list")
        not in client.get(reverse("customers:contact-list")).content.decode()
    )
    assert (
        reverse("ingest:import-list")
        in _client(personas["bob"]).get(reverse("customers:contact-list")).content.decode()
    )


def test_another_sales_rep_cannot_see_or_touch_bobs_import(personas):
    job = run_import(personas["bob"], CSV)
    brenda = _client(personas["brenda"])
    for url in (
        _detail(job),
        reverse("ingest:import-progress", args=[job.pk]),
        reverse("ingest:import-rejected-csv", args=[job.pk]),
        reverse("ingest:import-undo", args=[job.pk]),
    ):
        assert brenda.get(url).status_code == 404, url
    for name in ("import-cancel", "import-resume", "import-undo"):
        assert brenda.post(reverse(f"ingest:{name}", args=[job.pk])).status_code == 404, name
    assert brenda.post(_detail(job), {"action": "preview"}).status_code == 404
    assert "people.csv" not in brenda.get(reverse("ingest:import-list")).content.decode()
    # An admin sees everyone's imports.
    assert _client(personas["alice"]).get(_detail(job)).status_code == 200


def test_posts_need_the_csrf_token(personas):
    job = upload(personas["bob"], CSV)
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["bob"])
    assert client.post(reverse("ingest:import-cancel", args=[job.pk])).status_code == 403
    assert client.post(_detail(job), {"action": "start"}).status_code == 403
    job.refresh_from_db()
    assert job.state == ImportJob.State.NEW


# --- progress, cancel, resume -------------------------------------------------------------


def test_the_progress_fragment_reports_the_counts_and_polls_while_running(personas):
    job = upload(personas["bob"], CSV)
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.RUNNING,
        total_rows=200,
        rows_seen=50,
        rejected=3,
        run_seconds=10,
        heartbeat_at=timezone.now(),
    )
    client = _client(personas["bob"])
    page = client.get(_detail(job)).content.decode()
    assert 'hx-trigger="every 1s"' in page and "Cancel import" in page and "Resume" not in page
    response = client.get(reverse("ingest:import-progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "HX-Redirect" not in response
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert (
        'hx-trigger="every 1s"' in fragment
        and reverse("ingest:import-progress", args=[job.pk]) in fragment
    )
    assert '<span class="rows-done">50</span> of 200 (25%)' in fragment
    assert 'value="25"' in fragment  # the <progress> bar
    assert "5 rows/s" in fragment and "30 s" in fragment  # 150 rows left at 5 a second
    assert "<dt>Rejected so far</dt><dd>3</dd>" in fragment


def test_polling_stops_and_the_page_reloads_when_the_import_ends(personas):
    job = run_import(personas["bob"], CSV)
    response = _client(personas["bob"]).get(
        reverse("ingest:import-progress", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == _detail(job)
    assert "hx-trigger" not in response.content.decode()


def test_cancel_a_queued_import_from_its_page(personas):
    job = upload(personas["bob"], CSV)
    client = _client(personas["bob"])
    # Started, but its task has not run (the commit callbacks are not executed).
    assert (
        client.post(
            _detail(job),
            _mapping_post(
                **{"col-0": "full_name", "col-1": "email", "col-2": "phone", "action": "start"}
            ),
        ).status_code
        == 302
    )
    job.refresh_from_db()
    assert job.state == ImportJob.State.QUEUED
    response = client.post(reverse("ingest:import-cancel", args=[job.pk]), follow=True)
    assert response.status_code == 200 and "Cancelled." in response.content.decode()
    job.refresh_from_db()
    assert job.state == ImportJob.State.CANCELLED and not Contact.objects.exists()
    # Nothing is left to cancel: the page says so.
    again = client.post(reverse("ingest:import-cancel", args=[job.pk]))
    assert again.status_code == 409 and "nothing to cancel" in again.content.decode()


def test_a_stalled_import_offers_resume_which_runs_it_to_the_end(
    personas, django_capture_on_commit_callbacks, settings
):
    job = upload(personas["bob"], CSV)
    old = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 5)
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.RUNNING, heartbeat_at=old, total_rows=3
    )
    client = _client(personas["bob"])
    page = client.get(_detail(job)).content.decode()
    assert reverse("ingest:import-resume", args=[job.pk]) in page and "has not reported" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ingest:import-resume", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.created == 2


def test_a_failed_import_shows_its_error_and_resume(personas):
    job = upload(personas["bob"], CSV)
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.FAILED, error="The database went away."
    )
    page = _client(personas["bob"]).get(_detail(job)).content.decode()
    assert (
        "The database went away." in page and reverse("ingest:import-resume", args=[job.pk]) in page
    )


# --- results: rejected rows, undo ---------------------------------------------------------


def test_the_rejected_rows_download_as_csv_with_an_error_column(personas):
    job = run_import(personas["bob"], CSV)
    response = _client(personas["bob"]).get(reverse("ingest:import-rejected-csv", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-rejected.csv"'
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "Name,E-mail,Phone,error"
    assert len(lines) == 2 and lines[1].startswith("Bad Row,not-an-email,,row 3:")


def test_undo_asks_first_then_removes_what_the_import_created(
    personas, django_capture_on_commit_callbacks
):
    job = run_import(personas["alice"], CSV)
    client = _client(personas["alice"])
    page = client.get(_detail(job)).content.decode()
    undo_url = reverse("ingest:import-undo", args=[job.pk])
    assert undo_url in page
    confirm = client.get(undo_url)
    assert confirm.status_code == 200 and "Yes, undo the import" in confirm.content.decode()
    assert Contact.objects.count() == 2  # asking changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(undo_url)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.UNDONE and job.undone == 2
    assert not Contact.objects.exists()
    page = client.get(_detail(job)).content.decode()
    assert "Undone" in page and undo_url not in page
    assert client.post(undo_url).status_code == 409  # once is enough


def test_undo_lists_the_records_it_left_because_someone_changed_them(
    personas, django_capture_on_commit_callbacks
):
    job = run_import(personas["alice"], CSV)
    ada = Contact.objects.get(full_name="Ada Lovelace")
    customer_services.contact_update(
        actor=actor(personas["mo"]),
        contact=ada,
        data={"job_title": "Countess"},
        expected_version=ada.version,
    )
    client = _client(personas["alice"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ingest:import-undo", args=[job.pk]))
    page = client.get(_detail(job)).content.decode()
    assert "Left as they were by the undo" in page
    assert reverse("customers:contact-detail", args=[ada.pk]) in page
    assert Contact.objects.filter(pk=ada.pk).exists()


def test_a_role_that_may_not_delete_gets_no_undo(personas):
    job = run_import(personas["bob"], CSV)  # sales reps add and change, but do not delete
    client = _client(personas["bob"])
    undo_url = reverse("ingest:import-undo", args=[job.pk])
    assert undo_url not in client.get(_detail(job)).content.decode()
    assert client.post(undo_url).status_code == 403
    assert Contact.objects.count() == 2


@pytest.mark.parametrize("state", ["new", "running"])
def test_undo_of_an_import_that_has_not_finished_says_why(personas, state):
    job = upload(personas["alice"], CSV)
    ImportJob.objects.filter(pk=job.pk).update(state=state, heartbeat_at=timezone.now())
    response = _client(personas["alice"]).get(reverse("ingest:import-undo", args=[job.pk]))
    assert response.status_code == 409 and "cannot be undone" in response.content.decode()


def test_an_accounts_file_previews_and_imports_through_the_same_pages(
    personas, django_capture_on_commit_callbacks
):
    client = _client(personas["alice"])
    data = csv_bytes(
        [["Company", "Website"], ["Acme Ltd", "acme.example"], ["Globex", "globex.example"]]
    )
    response = client.post(
        reverse("ingest:import-create"), {"file": _file(data, "companies.csv"), "kind": "accounts"}
    )
    job = ImportJob.objects.get()
    assert response["Location"] == _detail(job) and job.kind == "accounts"
    page = client.get(_detail(job)).content.decode()
    assert [_selected(page, "col-0"), _selected(page, "col-1")] == ["name", "domain"]
    assert "create_accounts" not in page  # a contacts-only setting
    post = {
        "col-0": "name",
        "col-1": "domain",
        "region": "GB",
        "source": "crm",
        "on_match": "fill_empty",
    }
    preview = client.post(_detail(job), {**post, "action": "preview"}).content.decode()
    assert "Acme Ltd" in preview and "globex.example" in preview
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_detail(job), {**post, "action": "start"})
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.created == 2
    acme = Account.objects.get(name="Acme Ltd")
    assert (
        reverse("customers:account-detail", args=[acme.pk])
        in client.get(_detail(job)).content.decode()
    )


def test_a_role_is_offered_only_the_kinds_it_may_add(personas):
    client = _client(personas["sam"])  # the service desk adds contacts, not accounts
    page = client.get(reverse("ingest:import-create")).content.decode()
    assert '<option value="contacts"' in page and '<option value="accounts"' not in page
    response = client.post(reverse("ingest:import-create"), {"file": _file(), "kind": "accounts"})
    assert response.status_code == 403 and not ImportJob.objects.exists()


def test_applying_a_mapping_that_does_not_exist_says_so_next_to_the_picker(personas):
    SavedMapping.objects.create(name="Real", kind="contacts", columns={"Name": "full_name"})
    job = upload(personas["bob"], CSV)
    response = _client(personas["bob"]).post(
        _detail(job), {"mapping_name": "Gone", "action": "apply"}
    )
    assert response.status_code == 422
    assert (
        'id="f-mapping_name-error">Choose one of the saved mappings.' in response.content.decode()
    )
