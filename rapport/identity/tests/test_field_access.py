"""Field access in duplicates: the customers app's rule (role policy hidden and read-only
fields, the data dictionary's view and edit roles) holds on every page and endpoint of
identity: cluster previews, merge records, and the choices of a merge."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from conftest import actor
from rapport.core.errors import ValidationFailed
from rapport.customers.models import Contact, DataField
from rapport.customers.tests.factories import make_contact
from rapport.identity import services
from rapport.identity.models import Candidate, Cluster, Merge
from rapport.users.models import RolePolicy

SECRET = "Band-7-SECRET"
OTHER_SECRET = "Band-9-SECRET"
JSON = "application/json"


@pytest.fixture
def restricted(personas):
    """The steward's role may not see the salary band (role policy) and may not edit the
    department (role policy) nor the drivers (data dictionary: only sales edit them)."""
    DataField.objects.create(entity="contact", key="salary_band", label="Salary band", type="text")
    DataField.objects.create(
        entity="contact", key="drivers", label="Drivers", type="text", edit_roles=["sales"]
    )
    RolePolicy.objects.filter(role="steward", kind="contact").update(
        hidden_fields=["custom.salary_band"], readonly_fields=["department"]
    )
    a = make_contact(
        given_name="Ann",
        family_name="Smith",
        emails=["ann@acme.com"],
        department="Sales",
        custom={"salary_band": SECRET, "drivers": "price"},
    )
    b = make_contact(
        given_name="Ann",
        family_name="Smith",
        emails=["ann@acme.com", "ann.smith@gmail.com"],
        department="Purchasing",
        custom={"salary_band": OTHER_SECRET, "drivers": "service"},
    )
    return a, b


def _cluster(a: Contact, b: Contact) -> Cluster:
    ids = sorted([a.pk, b.pk])
    cluster = Cluster.objects.create(kind="contact", record_ids=ids, size=2, score=0.9)
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


def _web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _admin_merge(personas, a: Contact, b: Contact) -> Merge:
    # The admin sees every field: the merge takes b's salary band into a.
    return services.records_merge(
        actor=actor(personas["alice"]),
        kind="contact",
        survivor_id=a.pk,
        merged_ids=[b.pk],
        choices={"custom.salary_band": b.pk},
    )


def test_cluster_preview_in_the_api_leaves_out_hidden_fields(api_client, personas, restricted):
    cluster = _cluster(*restricted)
    response = api_client("stella").get(f"/api/v1/duplicates/clusters/{cluster.pk}")
    assert response.status_code == 200, response.content
    assert "custom.salary_band" not in response.json()["preview"]
    assert "custom.drivers" in response.json()["preview"]  # read-only is still shown
    assert SECRET not in response.content.decode()
    assert OTHER_SECRET not in response.content.decode()
    # The admin sees it: the field is left out for the role, not for everyone.
    admin = api_client("alice").get(f"/api/v1/duplicates/clusters/{cluster.pk}")
    assert admin.json()["preview"]["custom.salary_band"]["value"] in (SECRET, OTHER_SECRET)


def test_cluster_page_leaves_out_hidden_fields_and_offers_no_choice_on_read_only_ones(
    personas, restricted
):
    a, b = restricted
    cluster = _cluster(a, b)
    page = _web(personas["stella"]).get(reverse("identity:cluster", args=[cluster.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert SECRET not in html and OTHER_SECRET not in html
    assert "Purchasing" in html  # a read-only field's values are shown…
    assert 'name="choice-department"' not in html  # …without a choice
    assert 'name="choice-custom.drivers"' not in html


def test_merge_record_in_the_api_leaves_out_hidden_fields(api_client, personas, restricted):
    merge = _admin_merge(personas, *restricted)
    assert "custom.salary_band" in merge.survivor_after  # the merge did change it
    client = api_client("stella")
    one = client.get(f"/api/v1/duplicates/merges/{merge.pk}")
    assert one.status_code == 200, one.content
    assert "custom.salary_band" not in one.json()["survivor_after"]
    assert "custom.salary_band" not in one.json()["survivor_before"]
    assert "custom.salary_band" not in one.json()["choices"]
    listed = client.get("/api/v1/duplicates/merges")
    for body in (one.content.decode(), listed.content.decode()):
        assert SECRET not in body and OTHER_SECRET not in body
    admin = api_client("alice").get(f"/api/v1/duplicates/merges/{merge.pk}").json()
    assert admin["survivor_after"]["custom.salary_band"] == OTHER_SECRET


def test_merge_history_page_leaves_out_hidden_fields(personas, restricted):
    merge = _admin_merge(personas, *restricted)
    client = _web(personas["stella"])
    for url in (reverse("identity:merge", args=[merge.pk]), reverse("identity:merge-list")):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert SECRET not in html and OTHER_SECRET not in html
        assert "Salary band" not in html
    # The merged record's snapshot, as the steward reads it, holds no hidden value either.
    from rapport.identity import selectors

    read = selectors.merge_get(actor=personas["stella"], pk=merge.pk)
    assert "salary_band" not in read.records[str(restricted[1].pk)]["custom"]


@pytest.mark.parametrize("field", ["department", "custom.drivers", "custom.salary_band"])
def test_a_merge_choice_on_a_field_the_role_may_not_edit_is_refused(
    api_client, personas, restricted, field
):
    a, b = restricted
    response = api_client("stella").post(
        "/api/v1/duplicates/merges",
        {"kind": "contact", "survivor_id": a.pk, "merged_ids": [b.pk], "choices": {field: b.pk}},
        content_type=JSON,
    )
    assert response.status_code in (400, 422), response.content
    assert field in response.json()["errors"]
    assert Contact.objects.filter(pk=b.pk).exists()  # nothing merged
    assert not Merge.objects.exists()
    with pytest.raises(ValidationFailed) as refused:
        services.records_merge(
            actor=actor(personas["stella"]),
            kind="contact",
            survivor_id=a.pk,
            merged_ids=[b.pk],
            choices={field: b.pk},
        )
    assert field in refused.value.errors


def test_without_choices_the_rules_decide_read_only_fields(personas, restricted):
    a, b = restricted
    merge = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )
    a.refresh_from_db()
    assert a.department == "Sales"  # the survivor's value, as the default rule says
    assert merge.choices == {}


def test_an_undo_conflict_on_a_hidden_field_does_not_show_its_value(
    api_client, personas, restricted
):
    a, _ = restricted
    merge = _admin_merge(personas, *restricted)
    Contact.objects.filter(pk=a.pk).update(custom={"salary_band": "Band-1-SECRET"})
    services.merge_undo(actor=actor(personas["alice"]), merge=merge)
    body = api_client("stella").get(f"/api/v1/duplicates/merges/{merge.pk}")
    assert body.status_code == 200
    assert "Band-1-SECRET" not in body.content.decode()
    assert body.json()["conflicts"]  # the steward still learns something was kept
    admin = api_client("alice").get(f"/api/v1/duplicates/merges/{merge.pk}").json()
    assert any("Band-1-SECRET" in c for c in admin["conflicts"])
