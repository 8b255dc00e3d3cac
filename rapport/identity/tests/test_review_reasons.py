"""The review queue says why each record is in its group: the member it matches best, how
surely, and the evidence (``selectors.cluster_reasons`` on the queue page)."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_contact
from rapport.identity import selectors
from rapport.identity.models import Candidate, Cluster

# given, family, email, phone, organisation, address, identifier, given/family rarity
NICKNAME_SAME_PHONE = [2, 3, -1, 3, -1, -1, -1, -1, 2]
INITIAL_OTHER_EMAIL = [1, 3, 0, -1, -1, -1, -1, -1, 2]


def _group(pairs: list[tuple[Contact, Contact, float, list[int]]]) -> Cluster:
    ids = sorted({r.pk for a, b, _, _ in pairs for r in (a, b)})
    cluster = Cluster.objects.create(kind="contact", record_ids=ids, size=len(ids), score=0.97)
    for a, b, p, vector in pairs:
        Candidate.objects.create(
            kind="contact",
            left_id=min(a.pk, b.pk),
            right_id=max(a.pk, b.pk),
            probability=p,
            score=8.0,
            vector=vector,
            cluster=cluster,
        )
    return cluster


def _three(given: str = "Robert") -> Cluster:
    robert = make_contact(given_name=given, family_name="Smith", phones=["+44 20 7946 0018"])
    bob = make_contact(given_name="<i>Bob</i>", family_name="Smith", phones=["+442079460018"])
    initial = make_contact(given_name="R.", family_name="Smith", emails=["r@acme.com"])
    return _group([
        (robert, bob, 0.97, NICKNAME_SAME_PHONE),
        (robert, initial, 0.81, INITIAL_OTHER_EMAIL),
    ])  # fmt: skip


def _queue(user, client: Client | None = None) -> str:
    if client is None:
        client = Client()
        client.force_login(user)
    response = client.get(reverse("identity:queue"))
    assert response.status_code == 200
    return response.content.decode()


def test_each_record_says_which_member_it_matches_with_what_score_and_evidence(personas):
    cluster = _three()

    reasons = selectors.cluster_reasons(
        kind="contact", clusters=[cluster], names={pk: str(pk) for pk in cluster.record_ids}
    )[cluster.pk]

    robert, bob, initial = sorted(cluster.record_ids)
    assert [r.record_id for r in reasons] == [robert, bob, initial]  # best linked first
    assert reasons[0].partner == "" and (reasons[0].links, reasons[0].others) == (2, 2)
    assert (reasons[1].partner, reasons[1].percent, reasons[1].links) == (str(robert), 97, 1)
    assert "same phone number" in reasons[1].evidence
    assert "nickname or close spelling of the given name" in reasons[1].evidence
    assert (reasons[2].partner, reasons[2].percent) == (str(robert), 81)
    assert reasons[2].against == "different e-mail addresses"


def test_the_queue_page_shows_why_a_record_is_in_its_group_escaped(personas):
    _three()

    page = _queue(personas["stella"])

    assert "Why these contacts" in page
    assert "<strong>Robert Smith</strong>: the contact best linked in the group" in page
    assert "<strong>&lt;i&gt;Bob&lt;/i&gt; Smith</strong> matches Robert Smith, 97 %" in page
    assert "same phone number" in page
    assert "against: different e-mail addresses" in page
    assert "Matches 1 of 2 others." in page
    assert "<i>Bob</i>" not in page


def test_the_reasons_cost_the_same_queries_for_one_group_or_twelve(personas):
    _three()
    client = Client()
    client.force_login(personas["stella"])
    _queue(None, client)  # warm the per-process caches
    with CaptureQueriesContext(connection) as one:
        _queue(None, client)
    for _ in range(11):
        _three()
    with CaptureQueriesContext(connection) as twelve:
        page = _queue(None, client)
    assert page.count("data-dup-why") == 12
    # The page's own, plus the settings, the identifying data fields and one query for
    # every group's pairs.
    assert len(twelve) == len(one) <= 11


def test_the_api_queue_gives_the_same_reasons(api_client):
    cluster = _three()
    robert, bob, initial = sorted(cluster.record_ids)
    response = api_client("stella").get("/api/v1/duplicates/clusters", {"kind": "contact"})

    assert response.status_code == 200, response.content
    reasons = response.json()["items"][0]["reasons"]
    assert [r["record_id"] for r in reasons] == [robert, bob, initial]
    assert reasons[0]["partner_id"] is None and reasons[0]["links"] == 2
    assert (reasons[1]["partner_id"], reasons[1]["probability"]) == (robert, 0.97)
    assert "same phone number" in reasons[1]["evidence"]
    assert reasons[2]["against"] == "different e-mail addresses"
