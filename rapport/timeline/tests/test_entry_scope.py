"""An integration's external ids are its own: another team's caller posting the same
source and id gets exactly what it gets for an id never seen (decision 0011)."""

from __future__ import annotations

import json

from rapport.customers.tests.factories import make_contact
from rapport.timeline.models import Entry

API = "/api/v1"


def _post(client, body: dict):
    return client.post(f"{API}/timeline/entries", json.dumps(body), content_type="application/json")


def _call(contact_id: int, external_id: str, summary: str) -> dict:
    return {
        "kind": "call",
        "summary": summary,
        "contacts": [contact_id],
        "source": "pbx",
        "external_id": external_id,
    }


def _shape(response) -> tuple[int, list[str], str, list[int]]:
    body = response.json()
    return (
        response.status_code,
        sorted(body),
        body["summary"],
        [c["id"] for c in body.get("contacts", [])],
    )


def test_another_teams_source_id_answers_as_a_fresh_id(personas, api_client):
    nora = make_contact(owner=personas["bob"], full_name="Nora North")
    sam = make_contact(owner=personas["carl"], full_name="Sam South")
    bob, carl = api_client("bob"), api_client("carl")
    first = _post(bob, _call(nora.pk, "call-1", "North's private call"))
    assert first.status_code == 201

    taken = _post(carl, _call(sam.pk, "call-1", "South's call"))
    fresh = _post(carl, _call(sam.pk, "call-never-seen", "South's call"))
    assert taken.status_code == fresh.status_code == 201
    assert _shape(taken)[1:] == _shape(fresh)[1:]
    assert taken.json()["id"] != first.json()["id"] and "North" not in taken.content.decode()
    # Each caller's repeat is still the same entry, and the ids stay unique per caller.
    assert _post(carl, _call(sam.pk, "call-1", "South's call")).json()["id"] == taken.json()["id"]
    again = _post(bob, _call(nora.pk, "call-1", "North's private call"))
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert Entry.objects.filter(source="pbx", external_id="call-1").count() == 2
