"""The imports API: upload, follow, fix and undo an import over HTTP."""

import csv
import io
import json

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.customers.models import Account, Contact, ContactEmail
from rapport.ingest.models import ImportJob, SavedMapping

JSON = "application/json"
CSV = (
    b"Name,E-mail,Phone\n"
    b"Ada Lovelace,ada@example.com,020 7946 0018\n"
    b"Bad Row,not-an-email,\n"
    b"Grace Hopper,grace@example.com,\n"
)


def _file(data: bytes = CSV, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def upload(api_client, django_capture_on_commit_callbacks):
    """``upload("bob", start=False, ...)``: POST /imports as that persona, running what the
    request queues (tasks run at once in tests, after the commit)."""

    def post(persona: str, data: bytes = CSV, **fields):
        client = api_client(persona)
        fields = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in fields.items()}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/v1/imports", {"file": _file(data), "kind": "contacts", **fields}
            )
        return client, response

    return post


def _stored_files() -> list[str]:
    return default_storage.listdir("imports")[1] if default_storage.exists("imports") else []


def test_an_upload_runs_the_import_and_reports_its_counts(upload, personas):
    client, response = upload("bob")
    assert response.status_code == 202, response.content
    assert response.json()["state"] in ("queued", "running", "done")
    job = client.get(response["Location"])
    assert job.status_code == 200
    body = job.json()
    assert body["state"] == "done"
    assert body["mapping"] == {"Name": "full_name", "E-mail": "email", "Phone": "phone"}
    counts = {k: body[k] for k in ("total_rows", "rows_seen", "created", "unchanged", "rejected")}
    assert counts == {"total_rows": 3, "rows_seen": 3, "created": 2, "unchanged": 0, "rejected": 1}
    assert body["percent"] == 100 and body["created_by"] == "bob"
    assert body["links"]["self"] == response["Location"]

    ada = ContactEmail.objects.get(email="ada@example.com").contact
    assert (ada.given_name, ada.family_name) == ("Ada", "Lovelace")
    assert ada.phones.get().e164 == "+442079460018"
    assert ContactEmail.objects.filter(email="grace@example.com").exists()

    records = client.get(body["links"]["records"]).json()
    assert [(r["action"], r["row"], r["object_id"]) for r in records["items"]] == [
        ("created", 2, ada.pk),
        ("created", 4, ContactEmail.objects.get(email="grace@example.com").contact_id),
    ]


def test_importing_the_same_file_again_changes_nothing(upload):
    client, first = upload("bob")
    assert first.status_code == 202
    _, second = upload("bob")
    body = client.get(second["Location"]).json()
    assert body["id"] != first.json()["id"]
    assert (body["state"], body["created"], body["updated"], body["unchanged"]) == ("done", 0, 0, 2)
    assert Contact.objects.count() == 2


def test_rejected_rows_are_listed_and_downloadable_with_an_error_column(upload):
    client, response = upload("bob")
    links = client.get(response["Location"]).json()["links"]

    rejections = client.get(links["rejections"]).json()
    (item,) = rejections["items"]
    assert item["row"] == 3 and item["field"] == "E-mail"
    assert "not-an-email" in item["reason"]
    assert item["cells"] == ["Bad Row", "not-an-email", ""]
    assert rejections["next_cursor"] is None

    download = client.get(links["rejected"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"].startswith("attachment;")
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == ["Name", "E-mail", "Phone", "error"]
    assert row[:3] == ["Bad Row", "not-an-email", ""]
    assert row[3].startswith("row 3: ") and "e-mail" in row[3]


def test_accounts_are_imported_too(api_client, django_capture_on_commit_callbacks):
    client = api_client("bob")
    data = b"Company,Website\nAcme Widgets Ltd,https://acme.example/\nGlobex,globex.example\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports", {"file": _file(data, "firms.csv"), "kind": "accounts"}
        )
    assert response.status_code == 202, response.content
    body = client.get(response["Location"]).json()
    assert (body["kind"], body["state"], body["created"]) == ("accounts", "done", 2)
    assert set(Account.objects.values_list("name", flat=True)) == {"Acme Widgets Ltd", "Globex"}
    preview = client.get(body["links"]["preview"]).json()
    assert preview[0]["values"]["name"] == "Acme Widgets Ltd"


def test_rejections_are_paged_with_a_cursor(upload):
    data = b"Name,E-mail\n" + b"".join(b"P%d,bad-%d\n" % (i, i) for i in range(5))
    client, response = upload("bob", data)
    url = client.get(response["Location"]).json()["links"]["rejections"]
    rows, cursor = [], ""
    while True:
        page = client.get(url, {"size": 2, **({"cursor": cursor} if cursor else {})}).json()
        rows += [r["row"] for r in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert rows == [2, 3, 4, 5, 6]
    assert client.get(url, {"size": 0}).json()["errors"].keys() == {"size"}


def test_read_only_users_may_not_import(upload):
    _, response = upload("rita")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert not ImportJob.objects.exists()


def test_an_import_is_hidden_from_other_sales_reps(upload, api_client):
    _, response = upload("bob")
    url = response["Location"]
    brenda = api_client("brenda")
    for path in ("", "/preview", "/rejections", "/rejected.csv", "/records"):
        assert brenda.get(url + path).status_code == 404, path
    for action in ("start", "cancel", "resume", "undo"):
        assert brenda.post(f"{url}/{action}").status_code == 404, action
    assert brenda.patch(url, {"region": "US"}, content_type=JSON).status_code == 404
    assert brenda.get("/api/v1/imports").json()["items"] == []
    # Managers see everyone's imports.
    assert api_client("mo").get(url).status_code == 200
    assert [j["id"] for j in api_client("mo").get("/api/v1/imports").json()["items"]] == [
        response.json()["id"]
    ]


def test_undo_removes_the_contacts_the_import_created(
    upload, api_client, django_capture_on_commit_callbacks
):
    bob, response = upload("bob")
    url = response["Location"]
    assert Contact.objects.count() == 2
    # Undo deletes records: sales reps may not delete, so bob asks a manager.
    assert bob.post(f"{url}/undo").status_code == 403
    mo = api_client("mo")
    with django_capture_on_commit_callbacks(execute=True):
        undo = mo.post(f"{url}/undo")
    assert undo.status_code == 202
    assert undo["Location"] == url
    body = bob.get(url).json()
    assert (body["state"], body["undone"], body["undo_refused"]) == ("undone", 2, 0)
    assert not Contact.objects.exists()
    statuses = {r["undo_status"] for r in bob.get(body["links"]["records"]).json()["items"]}
    assert statuses == {"undone"}
    assert mo.post(f"{url}/undo").status_code == 409


def test_a_mapping_is_checked_changed_and_previewed_before_the_start(
    upload, django_capture_on_commit_callbacks
):
    client, response = upload("bob", start="false")
    assert response.status_code == 202
    url = response["Location"]
    assert response.json()["state"] == "new"

    unknown = client.patch(
        url, {"mapping": {"Name": "full_name", "Phone": "shoe_size"}}, content_type=JSON
    )
    assert unknown.status_code == 422
    assert unknown["Content-Type"] == "application/problem+json"
    assert "shoe_size" in " ".join(unknown.json()["errors"]["mapping"])
    extra = client.patch(url, {"colour": "red"}, content_type=JSON)
    assert extra.json()["errors"] == {"colour": ["Unknown field."]}

    changed = client.patch(
        url,
        {"mapping": {"Name": "full_name", "E-mail": "email", "Phone": ""}, "source": "old crm"},
        content_type=JSON,
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["mapping"]["Phone"] == "" and changed.json()["source"] == "old crm"

    preview = client.get(f"{url}/preview").json()
    assert [(p["row"], p["match"]) for p in preview] == [
        (2, "new contact"),
        (3, "rejected"),
        (4, "new contact"),
    ]
    assert preview[0]["values"]["emails"] == "ada@example.com"
    assert "phones" not in preview[0]["values"]
    assert preview[1]["problems"][0]["field"] == "E-mail"
    assert not Contact.objects.exists()  # a preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"{url}/start")
    assert started.status_code == 202
    assert client.get(url).json()["state"] == "done"
    assert not ContactEmail.objects.get(email="ada@example.com").contact.phones.exists()
    late = client.patch(url, {"region": "US"}, content_type=JSON)
    assert late.status_code == 409
    assert client.post(f"{url}/start").status_code == 409


def test_a_refused_upload_leaves_no_job_and_no_file(upload):
    before = _stored_files()
    _, bad_json = upload("bob", mapping="{not json")
    assert bad_json.status_code == 422 and "mapping" in bad_json.json()["errors"]
    _, bad_target = upload("bob", mapping={"Name": "full_name", "Phone": "shoe_size"})
    assert bad_target.status_code == 422 and "mapping" in bad_target.json()["errors"]
    _, bad_region = upload("bob", region="Narnia")
    assert bad_region.json()["errors"].keys() == {"region"}
    assert not ImportJob.objects.exists()
    assert _stored_files() == before


def test_kind_and_file_are_required(api_client):
    client = api_client("bob")
    no_kind = client.post("/api/v1/imports", {"file": _file(), "kind": "people"})
    assert no_kind.status_code == 422 and "kind" in no_kind.json()["errors"]
    no_file = client.post("/api/v1/imports", {"kind": "contacts"})
    assert no_file.status_code == 422 and "file" in no_file.json()["errors"]
    typo = client.post("/api/v1/imports", {"file": _file(), "kind": "contacts", "on-match": "skip"})
    assert typo.status_code == 422 and typo.json()["errors"] == {"on-match": ["Unknown field."]}
    not_a_table = client.post(
        "/api/v1/imports", {"file": _file(b"\x00\x01\x02" * 50, "x.xlsx"), "kind": "contacts"}
    )
    assert not_a_table.status_code == 422 and "file" in not_a_table.json()["errors"]


def test_cancel_and_resume_follow_the_job_state(upload):
    client, response = upload("bob", start="false")
    url = response["Location"]
    cancelled = client.post(f"{url}/cancel")
    assert cancelled.status_code == 202
    assert cancelled.json()["state"] == "cancelled"
    assert client.post(f"{url}/cancel").status_code == 409
    assert client.post(f"{url}/resume").status_code == 409
    assert client.post(f"{url}/start").status_code == 409


def test_saved_mappings_are_listed_and_used_by_name(upload, api_client):
    client = api_client("bob")
    saved = client.post(
        "/api/v1/import-mappings",
        {
            "kind": "contacts",
            "name": "Old CRM",
            "columns": {"Name": "full_name", "E-mail": "email"},
        },
        content_type=JSON,
    )
    assert saved.status_code == 201, saved.content
    assert saved.json()["columns"] == {"Name": "full_name", "E-mail": "email"}
    listed = client.get("/api/v1/import-mappings", {"kind": "contacts"}).json()
    assert [m["name"] for m in listed] == ["Old CRM"]
    assert client.get("/api/v1/import-mappings", {"kind": "accounts"}).json() == []

    _, response = upload("bob", mapping_name="Old CRM", save_as="")
    body = client.get(response["Location"]).json()
    assert body["mapping"] == {"Name": "full_name", "E-mail": "email", "Phone": ""}
    assert body["mapping_name"] == "Old CRM"
    assert body["created"] == 2

    _, unknown = upload("bob", mapping_name="Nope")
    assert unknown.json()["errors"].keys() == {"mapping_name"}
    assert (
        api_client("rita")
        .post(
            "/api/v1/import-mappings",
            {"kind": "contacts", "name": "X", "columns": {}},
            content_type=JSON,
        )
        .status_code
        == 403
    )
    assert SavedMapping.objects.count() == 1


def test_the_import_list_is_paged_in_constant_queries(
    upload, api_client, django_assert_max_num_queries
):
    for _ in range(3):
        upload("bob", start="false")
    client = api_client("bob")
    with django_assert_max_num_queries(3):
        first = client.get("/api/v1/imports", {"size": 2}).json()
    second = client.get("/api/v1/imports", {"size": 2, "cursor": first["next_cursor"]}).json()
    ids = [j["id"] for j in first["items"] + second["items"]]
    assert ids == sorted(ImportJob.objects.values_list("id", flat=True), reverse=True)
    assert second["next_cursor"] is None


def test_the_imports_api_needs_credentials(db, client):
    assert client.get("/api/v1/imports").status_code == 401


def test_the_openapi_schema_documents_the_imports_endpoints(db, client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/imports",
        "/api/v1/imports/{import_id}",
        "/api/v1/imports/{import_id}/start",
        "/api/v1/imports/{import_id}/preview",
        "/api/v1/imports/{import_id}/rejections",
        "/api/v1/imports/{import_id}/rejected.csv",
        "/api/v1/imports/{import_id}/records",
        "/api/v1/imports/{import_id}/cancel",
        "/api/v1/imports/{import_id}/resume",
        "/api/v1/imports/{import_id}/undo",
        "/api/v1/import-mappings",
    ):
        assert path in paths, path
    create = paths["/api/v1/imports"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    assert {"202", "403", "422"} <= set(create["responses"])
    assert (
        "text/csv"
        in paths["/api/v1/imports/{import_id}/rejected.csv"]["get"]["responses"]["200"]["content"]
    )


@pytest.mark.django_db
def test_saved_mappings_are_for_those_who_may_import(api_client):
    assert api_client("bob").get("/api/v1/import-mappings?kind=contacts").status_code == 200
    assert api_client("rita").get("/api/v1/import-mappings?kind=contacts").status_code == 403
