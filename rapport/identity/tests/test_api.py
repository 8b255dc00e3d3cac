"""The duplicates API (rapport.identity.api): a record's likely duplicates, the review queue,
merges and their undo, decisions, scans, settings and the candidates CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from rapport.customers.models import Contact, ContactExternalId
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity.models import (
    Candidate,
    Cluster,
    MatchSettings,
    Merge,
    MergedId,
    NotDuplicate,
    Scan,
)

JSON = "application/json"


def _pair(personas):
    robert = make_contact(
        owner=personas["bob"],
        given_name="Robert",
        family_name="Smith",
        job_title="Buyer",
        emails=["robert.smith@acme.com"],
        phones=["+44 20 7946 0018"],
    )
    bob = make_contact(
        owner=personas["bob"],
        given_name="Bob",
        family_name="Smith",
        emails=["bob@smith-family.com"],
        phones=["020 7946 0018"],
    )
    return robert, bob


def _cluster(robert: Contact, bob: Contact, **extra) -> Cluster:
    ids = sorted([robert.pk, bob.pk])
    cluster = Cluster.objects.create(kind="contact", record_ids=ids, size=2, score=0.9, **extra)
    Candidate.objects.create(
        kind="contact",
        left_id=ids[0],
        right_id=ids[1],
        probability=0.9,
        score=7.5,
        vector=[-1] * 9,
        cluster=cluster,
    )
    return cluster


def _merge(client: Client, survivor: Contact, merged: Contact, **extra):
    body = {"kind": "contact", "survivor_id": survivor.pk, "merged_ids": [merged.pk], **extra}
    return client.post("/api/v1/duplicates/merges", body, content_type=JSON)


# --- a stored record's likely duplicates ---------------------------------------------------------


def test_contact_duplicates_lists_the_likely_records_with_evidence(api_client, personas):
    robert, bob = _pair(personas)
    make_contact(owner=personas["bob"], full_name="Alice Jones", phones=["+44 20 7946 0999"])
    response = api_client("stella").get(f"/api/v1/contacts/{bob.pk}/duplicates")
    assert response.status_code == 200, response.content
    found = response.json()
    assert [d["id"] for d in found] == [robert.pk]
    assert found[0]["label"] == "Robert Smith"
    assert {"field", "level", "weight", "words"} <= set(found[0]["evidence"][0])


def test_record_duplicates_need_the_right_to_view_duplicates(api_client, personas):
    _, bob = _pair(personas)
    assert api_client("bob").get(f"/api/v1/contacts/{bob.pk}/duplicates").status_code == 403
    assert api_client("mo").get(f"/api/v1/contacts/{bob.pk}/duplicates").status_code == 200


def test_record_duplicates_of_an_unknown_record_is_404(api_client, personas):
    assert api_client("stella").get("/api/v1/contacts/999999/duplicates").status_code == 404
    assert api_client("stella").get("/api/v1/accounts/999999/duplicates").status_code == 404


def test_account_duplicates_lists_the_same_company(api_client, personas):
    acme = make_account(name="Acme Widgets Ltd", country="GB", phone="+44 20 7946 0018")
    other = make_account(name="ACME Widgets", country="GB", phone="020 7946 0018")
    response = api_client("stella").get(f"/api/v1/accounts/{other.pk}/duplicates")
    assert response.status_code == 200, response.content
    assert [d["id"] for d in response.json()] == [acme.pk]


# --- merges ------------------------------------------------------------------------------------


def test_merge_via_api_then_the_old_id_answers_308_to_the_survivor(api_client, personas):
    robert, bob = _pair(personas)
    client = api_client("stella")
    response = _merge(
        client,
        robert,
        bob,
        expected_versions={str(robert.pk): robert.version, str(bob.pk): bob.version},
    )
    assert response.status_code == 201, response.content
    merge = response.json()
    assert response["Location"] == f"/api/v1/duplicates/merges/{merge['id']}"
    assert merge["survivor_id"] == robert.pk and merge["merged_ids"] == [bob.pk]
    assert merge["actor"] == "stella" and merge["undone_at"] is None
    assert not Contact.objects.filter(pk=bob.pk).exists()
    assert set(Contact.objects.get(pk=robert.pk).emails.values_list("email", flat=True)) == {
        "robert.smith@acme.com",
        "bob@smith-family.com",
    }

    moved = client.get(f"/api/v1/contacts/{bob.pk}")
    assert moved.status_code == 308
    assert moved["Location"] == f"/api/v1/contacts/{robert.pk}"
    assert moved.json()["moved_to"] == robert.pk
    assert client.get(f"/api/v1/contacts/{bob.pk}/duplicates")["Location"] == (
        f"/api/v1/contacts/{robert.pk}/duplicates"
    )
    assert client.get(moved["Location"]).status_code == 200


def test_merge_with_choices_keeps_the_chosen_value(api_client, personas):
    robert, bob = _pair(personas)
    Contact.objects.filter(pk=bob.pk).update(job_title="Head of Buying")
    response = _merge(api_client("stella"), robert, bob, choices={"job_title": bob.pk})
    assert response.status_code == 201, response.content
    assert response.json()["survivor_after"]["job_title"] == "Head of Buying"
    assert response.json()["survivor_before"]["job_title"] == "Buyer"
    assert Contact.objects.get(pk=robert.pk).job_title == "Head of Buying"


def test_merge_of_a_record_changed_since_review_is_412_and_changes_nothing(api_client, personas):
    robert, bob = _pair(personas)
    response = _merge(
        api_client("stella"), robert, bob, expected_versions={str(bob.pk): bob.version - 1}
    )
    assert response.status_code == 412, response.content
    assert response.json()["current_version"] == bob.version
    assert Contact.objects.filter(pk=bob.pk).exists()
    assert not Merge.objects.exists()


def test_undo_restores_the_merged_contact(api_client, personas):
    robert, bob = _pair(personas)
    client = api_client("stella")
    merge = _merge(client, robert, bob).json()
    response = client.post(
        f"/api/v1/duplicates/merges/{merge['id']}/undo",
        {"remember_not_duplicate": True},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["undone_at"] is not None and body["undone_by"] == "stella"
    assert body["conflicts"] == []
    restored = client.get(f"/api/v1/contacts/{bob.pk}")
    assert restored.status_code == 200
    assert restored.json()["given_name"] == "Bob"
    assert [e["email"] for e in restored.json()["emails"]] == ["bob@smith-family.com"]
    assert not MergedId.objects.filter(old_id=bob.pk).exists()
    low, high = sorted([robert.pk, bob.pk])
    assert NotDuplicate.objects.filter(kind="contact", left_id=low, right_id=high).exists()
    again = client.post(f"/api/v1/duplicates/merges/{merge['id']}/undo", {}, content_type=JSON)
    assert again.status_code == 409


def test_merges_list_filters_by_record_and_reads_one(api_client, personas):
    robert, bob = _pair(personas)
    other_a, other_b = make_contact(full_name="Ann Lee"), make_contact(full_name="Anne Lee")
    client = api_client("stella")
    first = _merge(client, robert, bob).json()
    _merge(client, other_a, other_b)
    listed = client.get(f"/api/v1/duplicates/merges?kind=contact&record_id={bob.pk}")
    assert listed.status_code == 200, listed.content
    assert [m["id"] for m in listed.json()["items"]] == [first["id"]]
    page = client.get("/api/v1/duplicates/merges?size=1").json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"/api/v1/duplicates/merges?size=1&cursor={page['next_cursor']}").json()
    assert rest["items"][0]["id"] != page["items"][0]["id"]
    assert client.get(f"/api/v1/duplicates/merges/{first['id']}").json() == first
    assert client.get("/api/v1/duplicates/merges/999999").status_code == 404


@pytest.mark.parametrize("name", ["bob", "mo", "rita"])
def test_only_stewards_and_admins_merge(api_client, personas, name):
    robert, bob = _pair(personas)
    response = _merge(api_client(name), robert, bob)
    assert response.status_code == 403, response.content
    assert Contact.objects.filter(pk=bob.pk).exists()


def test_admin_merges(api_client, personas):
    robert, bob = _pair(personas)
    assert _merge(api_client("alice"), robert, bob).status_code == 201


def test_manager_reads_the_queue_but_may_not_merge_or_decide(api_client, personas):
    robert, bob = _pair(personas)
    cluster = _cluster(robert, bob)
    client = api_client("mo")
    assert client.get("/api/v1/duplicates/clusters?kind=contact").status_code == 200
    assert client.get(f"/api/v1/duplicates/clusters/{cluster.pk}").status_code == 200
    assert _merge(client, robert, bob).status_code == 403
    assert client.post(f"/api/v1/duplicates/clusters/{cluster.pk}/skip").status_code == 403
    decided = client.post(
        "/api/v1/duplicates/not-duplicates",
        {"kind": "contact", "record_ids": [robert.pk, bob.pk]},
        content_type=JSON,
    )
    assert decided.status_code == 403
    assert not NotDuplicate.objects.exists()


def test_sales_may_not_see_the_queue(api_client, personas):
    assert api_client("bob").get("/api/v1/duplicates/clusters?kind=contact").status_code == 403


# --- the review queue ----------------------------------------------------------------------------


def test_queue_lists_open_clusters_with_labels_and_pages(api_client, personas):
    robert, bob = _pair(personas)
    first = _cluster(robert, bob, value=10)
    ann, anne = make_contact(full_name="Ann Lee"), make_contact(full_name="Anne Lee")
    second = _cluster(ann, anne, value=1)
    Cluster.objects.create(kind="contact", record_ids=[1, 2], status=Cluster.Status.SKIPPED)
    client = api_client("stella")
    page = client.get("/api/v1/duplicates/clusters?kind=contact&size=1")
    assert page.status_code == 200, page.content
    body = page.json()
    assert [c["id"] for c in body["items"]] == [first.pk]
    assert sorted(body["items"][0]["labels"]) == ["Bob Smith", "Robert Smith"]
    rest = client.get(
        f"/api/v1/duplicates/clusters?kind=contact&size=1&cursor={body['next_cursor']}"
    )
    assert [c["id"] for c in rest.json()["items"]] == [second.pk]
    assert rest.json()["next_cursor"] is None
    assert client.get("/api/v1/duplicates/clusters?kind=account").json()["items"] == []


def _queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_queue_and_merge_lists_cost_the_same_queries_however_long(api_client, personas):
    client = api_client("stella")
    people = [make_contact(full_name=f"Person {n} Smith") for n in range(16)]
    _cluster(people[0], people[1])
    _merge(client, people[8], people[9])
    clusters, merges = "/api/v1/duplicates/clusters?kind=contact", "/api/v1/duplicates/merges"
    client.get(clusters)  # warm the per-process model cache (the queue's reasons weigh evidence)
    few = [_queries(client, clusters), _queries(client, merges)]
    for n in range(2, 8, 2):
        _cluster(people[n], people[n + 1])
        _merge(client, people[n + 8], people[n + 9])
    assert len(client.get(clusters).json()["items"]) == 4
    assert len(client.get(merges).json()["items"]) == 4
    assert [_queries(client, clusters), _queries(client, merges)] == few


def test_cluster_detail_has_the_records_pairs_and_merge_preview(api_client, personas):
    robert, bob = _pair(personas)
    cluster = _cluster(robert, bob)
    response = api_client("stella").get(f"/api/v1/duplicates/clusters/{cluster.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert sorted(body["record_ids"]) == sorted([robert.pk, bob.pk])
    assert {r["id"]: r["version"] for r in body["records"]} == {
        robert.pk: robert.version,
        bob.pk: bob.version,
    }
    assert body["records"][0]["id"] == body["survivor_id"]
    assert body["pairs"][0]["probability"] == 0.9 and body["pairs"][0]["status"] == "open"
    given = body["preview"]["given_name"]
    assert given["values"] == {str(robert.pk): "Robert", str(bob.pk): "Bob"}
    assert given["differs"] is True
    assert given["chosen"] == body["survivor_id"]
    assert api_client("stella").get("/api/v1/duplicates/clusters/999999").status_code == 404


def test_skip_takes_a_cluster_out_of_the_open_queue(api_client, personas):
    robert, bob = _pair(personas)
    cluster = _cluster(robert, bob)
    client = api_client("stella")
    response = client.post(f"/api/v1/duplicates/clusters/{cluster.pk}/skip")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "skipped"
    assert client.get("/api/v1/duplicates/clusters?kind=contact").json()["items"] == []
    skipped = client.get("/api/v1/duplicates/clusters?kind=contact&status=skipped").json()
    assert [c["id"] for c in skipped["items"]] == [cluster.pk]


def test_assign_hands_a_cluster_to_a_steward_and_back(api_client, personas):
    robert, bob = _pair(personas)
    cluster = _cluster(robert, bob)
    client = api_client("stella")
    url = f"/api/v1/duplicates/clusters/{cluster.pk}/assign"
    response = client.post(url, {"user_id": personas["stella"].pk}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["assigned_to"] == {"id": personas["stella"].pk, "username": "stella"}
    mine = client.get("/api/v1/duplicates/clusters?kind=contact&assigned=me").json()
    assert [c["id"] for c in mine["items"]] == [cluster.pk]
    assert (
        client.get("/api/v1/duplicates/clusters?kind=contact&assigned=none").json()["items"] == []
    )
    # Someone who may not review duplicates cannot be handed one.
    refused = client.post(url, {"user_id": personas["bob"].pk}, content_type=JSON)
    assert refused.status_code == 422
    assert client.post(url, {"user_id": 999999}, content_type=JSON).status_code == 422
    back = client.post(url, {"user_id": None}, content_type=JSON)
    assert back.status_code == 200 and back.json()["assigned_to"] is None


# --- decisions -----------------------------------------------------------------------------------


def test_not_duplicates_are_stored_and_close_the_pair(api_client, personas):
    robert, bob = _pair(personas)
    cluster = _cluster(robert, bob)
    client = api_client("stella")
    response = client.post(
        "/api/v1/duplicates/not-duplicates",
        {"kind": "contact", "record_ids": [bob.pk, robert.pk]},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    low, high = sorted([robert.pk, bob.pk])
    assert response.json() == {"kind": "contact", "record_ids": [low, high], "pairs": 1}
    assert NotDuplicate.objects.filter(kind="contact", left_id=low, right_id=high).exists()
    assert Candidate.objects.get(cluster=cluster).status == "dismissed"
    assert client.get(f"/api/v1/contacts/{bob.pk}/duplicates").json() == []


def test_not_duplicates_of_an_unknown_record_is_404(api_client, personas):
    robert, _ = _pair(personas)
    response = api_client("stella").post(
        "/api/v1/duplicates/not-duplicates",
        {"kind": "contact", "record_ids": [robert.pk, 999999]},
        content_type=JSON,
    )
    assert response.status_code == 404
    assert not NotDuplicate.objects.exists()


# --- scans ---------------------------------------------------------------------------------------


def test_scan_post_answers_202_and_runs_after_commit(
    api_client, personas, monkeypatch, django_capture_on_commit_callbacks
):
    from rapport.identity import tasks

    ran = []

    class FakeTask:
        # The worker: what the real scan does to the row, without the matching itself.
        def enqueue(self, scan_id):
            ran.append(scan_id)
            Scan.objects.filter(pk=scan_id).update(state="done", phase="done", records=2)

    monkeypatch.setattr(tasks, "scan_run_task", FakeTask())
    client = api_client("stella")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/duplicates/scans", {"kind": "contact", "mode": "full"}, content_type=JSON
        )
    assert response.status_code == 202, response.content
    scan = response.json()
    assert scan["kind"] == "contact" and scan["requested_by"] == "stella"
    assert response["Location"] == f"/api/v1/duplicates/scans/{scan['id']}"
    assert ran == [scan["id"]]
    progress = client.get(response["Location"]).json()
    assert progress["state"] == "done" and progress["records"] == 2
    assert [s["id"] for s in client.get("/api/v1/duplicates/scans?kind=contact").json()] == [
        scan["id"]
    ]


def test_scan_needs_the_right_to_change_duplicates(api_client, personas):
    response = api_client("mo").post(
        "/api/v1/duplicates/scans", {"kind": "contact"}, content_type=JSON
    )
    assert response.status_code == 403
    assert not Scan.objects.exists()


# --- settings ------------------------------------------------------------------------------------


def test_settings_read_and_change_with_if_match(api_client, personas):
    client = api_client("alice")
    read = client.get("/api/v1/duplicates/settings")
    assert read.status_code == 200, read.content
    version = read.json()["version"]
    assert read["ETag"] == f'"{version}"'
    response = client.patch(
        "/api/v1/duplicates/settings",
        {"lower": 0.6, "contact_rules": {"job_title": "most_recent"}, "source_ranking": ["erp"]},
        content_type=JSON,
        headers={"If-Match": f'"{version}"'},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["lower"] == 0.6 and body["version"] == version + 1
    assert body["contact_rules"] == {"job_title": "most_recent"}
    assert response["ETag"] == f'"{version + 1}"'
    stale = client.patch(
        "/api/v1/duplicates/settings",
        {"lower": 0.7},
        content_type=JSON,
        headers={"If-Match": f'"{version}"'},
    )
    assert stale.status_code == 412
    assert MatchSettings.objects.get().lower == 0.6


def test_settings_refuse_invalid_values(api_client, personas):
    client = api_client("alice")
    response = client.patch(
        "/api/v1/duplicates/settings", {"lower": 0.99, "upper": 0.9}, content_type=JSON
    )
    assert response.status_code == 422
    assert "lower" in response.json()["errors"]
    unknown = client.patch("/api/v1/duplicates/settings", {"low": 0.5}, content_type=JSON)
    assert unknown.status_code == 422


def test_steward_reads_the_settings_but_may_not_change_them(api_client, personas):
    client = api_client("stella")
    assert client.get("/api/v1/duplicates/settings").status_code == 200
    response = client.patch("/api/v1/duplicates/settings", {"lower": 0.6}, content_type=JSON)
    assert response.status_code == 403
    assert MatchSettings.objects.get().lower == 0.5
    assert api_client("bob").get("/api/v1/duplicates/settings").status_code == 403


# --- the candidates CSV --------------------------------------------------------------------------


def test_candidates_csv_lists_the_pairs_with_external_ids_made_inert(api_client, personas):
    robert, bob = _pair(personas)
    ContactExternalId.objects.create(contact=robert, source="erp", external_id="C-1")
    ContactExternalId.objects.create(contact=bob, source="=HYPERLINK", external_id="x")
    cluster = _cluster(robert, bob)
    response = api_client("stella").get("/api/v1/duplicates/candidates.csv?kind=contact")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["left_id", "right_id"]
    low, high = sorted([robert.pk, bob.pk])
    by_id = {robert.pk: "erp:C-1", bob.pk: "'=HYPERLINK:x"}
    assert rows[1] == [
        str(low), str(high), by_id[low], by_id[high], "0.9000", "7.50", "open", str(cluster.pk)
    ]  # fmt: skip
    assert len(rows) == 2


def test_candidates_csv_needs_the_right_to_view_duplicates(api_client, personas):
    assert (
        api_client("bob").get("/api/v1/duplicates/candidates.csv?kind=contact").status_code == 403
    )


# --- the schema ----------------------------------------------------------------------------------


def test_openapi_schema_lists_the_duplicates_paths(db):
    schema = Client().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in [
        "/api/v1/contacts/{contact_id}/duplicates",
        "/api/v1/accounts/{account_id}/duplicates",
        "/api/v1/duplicates/check",
        "/api/v1/duplicates/clusters",
        "/api/v1/duplicates/clusters/{cluster_id}",
        "/api/v1/duplicates/clusters/{cluster_id}/skip",
        "/api/v1/duplicates/clusters/{cluster_id}/assign",
        "/api/v1/duplicates/merges",
        "/api/v1/duplicates/merges/{merge_id}",
        "/api/v1/duplicates/merges/{merge_id}/undo",
        "/api/v1/duplicates/not-duplicates",
        "/api/v1/duplicates/scans",
        "/api/v1/duplicates/scans/{scan_id}",
        "/api/v1/duplicates/settings",
        "/api/v1/duplicates/candidates.csv",
    ]:
        assert path in paths, path
    assert "201" in paths["/api/v1/duplicates/merges"]["post"]["responses"]
    assert "202" in paths["/api/v1/duplicates/scans"]["post"]["responses"]
    assert "patch" in paths["/api/v1/duplicates/settings"]
    detail = paths["/api/v1/duplicates/clusters/{cluster_id}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"]["$ref"].endswith("ClusterDetailOut")
