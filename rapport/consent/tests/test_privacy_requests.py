"""The register of privacy requests: deadlines, steps in the audit trail, the export as
JSON and HTML, the erasure through the page and the API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.consent.models import PrivacyRequest
from rapport.consent.requests import selectors, services
from rapport.consent.tests.factories import grant
from rapport.core import privacy
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, PermissionDenied, ValidationFailed
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_contact
from rapport.identity import services as identity
from rapport.timeline import services as timeline


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def stella(personas):
    return personas["stella"]


@pytest.fixture
def ann(personas):
    return make_contact(full_name="Ann Pemberton-Lowe", emails=["ann.pl@example.com"])


def make_request(user, contact, kind="export", **data):
    return services.privacy_request_create(
        actor=Actor(user), data={"kind": kind, "contact": contact.pk, **data}
    )


def test_a_request_is_due_one_calendar_month_after_it_came():
    received = dt.datetime(2027, 1, 31, 10, tzinfo=dt.UTC)
    assert services.due_for(received) == dt.datetime(2027, 2, 28, 10, tzinfo=dt.UTC)
    assert services.due_for(dt.datetime(2027, 3, 15, tzinfo=dt.UTC)).day == 15


@pytest.mark.django_db
def test_bad_input_names_the_field_and_writes_nothing(stella, ann):
    with pytest.raises(ValidationFailed) as exc:
        services.privacy_request_create(actor=Actor(stella), data={"kind": "forget", "contact": 0})
    assert set(exc.value.errors) == {"kind", "contact"}
    future = (timezone.now() + dt.timedelta(days=2)).date().isoformat()
    with pytest.raises(ValidationFailed) as exc:
        make_request(stella, ann, received_at=future)
    assert "received_at" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        make_request(stella, ann, received_at="last tuesday")
    assert "received_at" in exc.value.errors
    assert not PrivacyRequest.objects.exists()


@pytest.mark.django_db
def test_only_stewards_and_admins_record_and_answer_managers_read(personas, ann):
    with pytest.raises(PermissionDenied):
        make_request(personas["mo"], ann)
    with pytest.raises(PermissionDenied):
        make_request(personas["bob"], ann)
    request = make_request(personas["stella"], ann)
    assert selectors.privacy_request_get(actor=Actor(personas["mo"]), pk=request.pk) == request
    with pytest.raises(PermissionDenied):
        services.privacy_request_export(actor=Actor(personas["mo"]), request=request)
    with pytest.raises(PermissionDenied):
        selectors.privacy_request_list(actor=Actor(personas["rita"]))


@pytest.mark.django_db
def test_every_step_is_in_the_audit_trail_without_the_persons_values(stella, ann):
    request = make_request(stella, ann, details="Phoned on Monday")
    services.privacy_request_update(
        actor=Actor(stella), request=request, data={"status": "in_progress", "outcome": "Sent"}
    )
    services.privacy_request_export(actor=Actor(stella), request=request)
    steps = list(
        AuditEntry.objects.filter(entity_kind="privacy_request", entity_id=request.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert steps == ["create", "update", "export"]
    trail = json.dumps(
        list(
            AuditEntry.objects.filter(entity_kind="privacy_request").values(
                "changes", "object_repr"
            )
        )
    )
    assert "Pemberton" not in trail and "Phoned" not in trail
    assert AuditEntry.objects.filter(
        entity_kind="contact", entity_id=ann.pk, action="export"
    ).exists()


@pytest.mark.django_db
def test_the_rules_of_the_steps(stella, ann):
    export = make_request(stella, ann)
    with pytest.raises(ValidationFailed):
        services.privacy_request_erase(actor=Actor(stella), request=export)
    erasure = make_request(stella, ann, kind="erasure")
    with pytest.raises(ValidationFailed):
        services.privacy_request_update(
            actor=Actor(stella), request=erasure, data={"status": "done"}
        )
    with pytest.raises(ValidationFailed) as exc:
        services.privacy_request_update(
            actor=Actor(stella), request=erasure, data={"status": "refused"}
        )
    assert "outcome" in exc.value.errors
    refused = services.privacy_request_update(
        actor=Actor(stella), request=erasure,
        data={"status": "refused", "outcome": "Legal hold on the account"},
    )  # fmt: skip
    with pytest.raises(Conflict):
        services.privacy_request_update(
            actor=Actor(stella), request=refused, data={"status": "received"}
        )
    with pytest.raises(Conflict):
        services.privacy_request_erase(actor=Actor(stella), request=refused)
    assert Contact.objects.filter(pk=ann.pk).exists()


@pytest.mark.django_db
def test_the_register_shows_deadlines_and_highlights_the_overdue(personas, ann):
    stella = personas["stella"]
    late = make_request(
        stella, ann, received_at=(timezone.now() - dt.timedelta(days=40)).isoformat()
    )
    soon = make_request(stella, ann, kind="rectification",
                        received_at=(timezone.now() - dt.timedelta(days=27)).isoformat())  # fmt: skip
    fresh = make_request(stella, ann, kind="erasure")
    assert [selectors.deadline(r) for r in (late, soon, fresh)] == [
        "overdue",
        "due_soon",
        "on_time",
    ]
    page = web(stella).get(reverse("consent:privacy-requests"))
    html = page.content.decode()
    assert page.status_code == 200
    at = [
        html.index(f'href="{reverse("consent:privacy-request-detail", args=[r.pk])}"')
        for r in (late, soon, fresh)
    ]
    assert at == sorted(at)
    assert 'class="deadline-overdue"' in html and "1 overdue" in html and "Record a request" in html
    manager = web(personas["mo"]).get(reverse("consent:privacy-requests")).content.decode()
    assert "Overdue" in manager and "Record a request" not in manager
    assert web(personas["rita"]).get(reverse("consent:privacy-requests")).status_code == 403
    # The menu link is there for those who may see the register.
    assert reverse("consent:privacy-requests") in manager


@pytest.mark.django_db
def test_the_export_holds_every_app_and_reads_as_escaped_html(stella, ann):
    timeline.note_add(
        actor=Actor(stella), kind="contact", pk=ann.pk, body="<script>x()</script> likes tea"
    )
    grant(ann, "newsletter")
    request = make_request(stella, ann)
    client = web(stella)
    got = client.get(reverse("consent:privacy-request-export", args=[request.pk, "json"]))
    assert got.status_code == 200 and "attachment" in got["Content-Disposition"]
    package = json.loads(got.content)
    assert set(package["data"]) == set(privacy.REGISTRY)
    assert package["data"]["customers"]["emails"][0]["email"] == "ann.pl@example.com"
    assert "likes tea" in json.dumps(package["data"]["timeline"])
    page = client.get(
        reverse("consent:privacy-request-export", args=[request.pk, "html"])
    ).content.decode()
    assert "Ann Pemberton-Lowe" in page and "ann.pl@example.com" in page
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page
    assert "Your consent" in page and "newsletter" in page
    request.refresh_from_db()
    assert request.status == "in_progress"


@pytest.mark.django_db
def test_erasure_through_the_page_needs_the_typed_confirmation(stella, ann):
    request = make_request(stella, ann, kind="erasure")
    client = web(stella)
    url = reverse("consent:privacy-request-erase", args=[request.pk])
    assert client.post(url, {"confirm": "yes"}).status_code == 422
    assert Contact.objects.filter(pk=ann.pk).exists()
    assert client.post(url, {"confirm": "erase"}).status_code == 302
    assert not Contact.objects.filter(pk=ann.pk).exists()
    page = client.get(reverse("consent:privacy-request-detail", args=[request.pk])).content.decode()
    assert f"Erased contact #{ann.pk}" in page and "Pemberton" not in page


@pytest.mark.django_db
def test_the_api_records_erases_and_answers_problems(api_client, ann):
    client = api_client("stella")
    bad = client.post("/api/v1/privacy/requests", {"kind": "forget", "contact": ann.pk},
                      content_type="application/json")  # fmt: skip
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    assert "kind" in bad.json()["errors"]
    made = client.post("/api/v1/privacy/requests", {"kind": "erasure", "contact": ann.pk},
                       content_type="application/json")  # fmt: skip
    assert made.status_code == 201 and made.json()["deadline"] == "on_time"
    rid = made.json()["id"]
    erased = client.post(f"/api/v1/privacy/requests/{rid}/erase")
    assert erased.status_code == 200
    body = erased.json()
    assert body["status"] == "done" and body["contact_id"] is None and body["contact_ref"] == ann.pk
    assert body["record"]["handlers"]["customers"] >= 1
    assert client.post(f"/api/v1/privacy/requests/{rid}/erase").json()["record"] == body["record"]
    listed = client.get("/api/v1/privacy/requests?status=").json()
    assert [r["id"] for r in listed] == [rid]
    assert api_client("mo").post(f"/api/v1/privacy/requests/{rid}/erase").status_code == 403


@pytest.mark.django_db
def test_a_request_follows_its_person_through_a_merge(stella, ann):
    twin = make_contact(full_name="Ann Pemberton-Lowe", emails=["ann.twin@example.com"])
    request = make_request(stella, twin, kind="erasure")
    identity.records_merge(
        actor=Actor(stella), kind="contact", survivor_id=ann.pk, merged_ids=[twin.pk]
    )
    request.refresh_from_db()
    assert request.person_id == ann.pk
    done = services.privacy_request_erase(actor=Actor(stella), request=request)
    assert done.contact_ref == ann.pk and not Contact.objects.filter(pk=ann.pk).exists()
