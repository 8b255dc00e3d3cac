"""Duplicates, merges, scans and matching settings, for the permission harness
(``rapport.core.testing.permissions``): a group of bob's two Smiths, and a merge of two
more of his contacts."""

from __future__ import annotations

from rapport.audit.services import Actor
from rapport.core.testing.permissions import SALARY_FIELD, SALARY_VALUE, Case, World
from rapport.customers.tests.factories import make_contact
from rapport.identity import services
from rapport.identity.models import Candidate, Cluster, Scan

DEPENDS = ("customers",)
C, A, DUP, V = "contact", "account", "duplicate", "view"
STEWARD = Actor(user=None, via="system")


def build(world: World) -> None:
    bob = world.users["bob"]
    # Each record carries the hidden data-dictionary value, so previews, comparisons and
    # merge records are held to it too.
    secret = {SALARY_FIELD: SALARY_VALUE}
    robert = make_contact(
        owner=bob, given_name="Robert", family_name="Smith", emails=["rs@acme.com"], custom=secret
    )
    bobby = make_contact(
        owner=bob, given_name="Bob", family_name="Smith", emails=["bs@acme.com"], custom=secret
    )
    ids = sorted([robert.pk, bobby.pk])
    cluster = Cluster.objects.create(kind="contact", record_ids=ids, size=2, score=0.9)
    Candidate.objects.create(
        kind="contact", left_id=ids[0], right_id=ids[1], probability=0.9, score=7.5,
        vector=[-1] * 9, cluster=cluster,
    )  # fmt: skip
    kept = make_contact(owner=bob, full_name="Ann Merged", emails=["ann@acme.com"])
    gone = make_contact(owner=bob, full_name="Ann Merged", emails=["ann2@acme.com"], custom=secret)
    merge = services.records_merge(
        actor=STEWARD, kind="contact", survivor_id=kept.pk, merged_ids=[gone.pk]
    )
    scan = Scan.objects.create(kind="contact")
    world.ids.update(
        robert=robert.pk, bobby=bobby.pk, cluster=cluster.pk, merge=merge.pk, scan=scan.pk,
        steward=world.users["stella"].pk,
    )  # fmt: skip


READ = ((DUP, V), (C, V))
DECIDE = ((DUP, "change"), (C, V))
TUNE = ((DUP, "delete"),)


def _pair(world: World) -> dict:
    return {
        "kind": "contact",
        "survivor_id": world.ids["robert"],
        "merged_ids": [world.ids["bobby"]],
    }


CASES: list[Case] = [
    Case(
        "post",
        "/duplicates/check",
        body={"kind": "contact", "record": {"full_name": "Nora North"}},
        needs=((C, V),),
    ),  # fmt: skip
    Case("get", "/contacts/{contact}/duplicates", parent=C, needs=((DUP, V),)),
    Case("get", "/accounts/{account}/duplicates", parent=A, needs=((DUP, V),)),
    Case("get", "/duplicates/clusters", query="?kind=contact", needs=READ),
    Case("get", "/duplicates/clusters/{cluster}", needs=READ, shows=(SALARY_VALUE,)),
    Case("post", "/duplicates/clusters/{cluster}/skip", needs=DECIDE),
    Case(
        "post", "/duplicates/clusters/{cluster}/assign", body={"user_id": "{steward}"}, needs=DECIDE
    ),
    Case("post", "/duplicates/merges", body=_pair, success=201, needs=DECIDE),
    Case("get", "/duplicates/merges", needs=READ),
    Case("get", "/duplicates/merges/{merge}", needs=READ, shows=(SALARY_VALUE,)),
    Case("post", "/duplicates/merges/{merge}/undo", body={}, needs=DECIDE),
    Case(
        "post",
        "/duplicates/not-duplicates",
        body=lambda w: {"kind": "contact", "record_ids": [w.ids["robert"], w.ids["bobby"]]},
        needs=DECIDE,
    ),  # fmt: skip
    Case("post", "/duplicates/scans", body={"kind": "contact"}, success=202, needs=DECIDE),
    Case("get", "/duplicates/scans", needs=READ),
    Case("get", "/duplicates/scans/{scan}", needs=READ),
    Case("get", "/duplicates/settings", needs=((DUP, V),)),
    Case("patch", "/duplicates/settings", body={"upper": 0.95}, needs=TUNE),
    Case("get", "/duplicates/candidates.csv", query="?kind=contact", needs=READ),
    # Pages.
    Case("get", url="identity:queue", needs=READ),
    Case("get", url="identity:cluster", args=("cluster",), needs=READ, shows=(SALARY_VALUE,)),
    # A merge form without its field choices is refused (400) after the rights check: only
    # those who may merge get that far.
    Case("post", url="identity:cluster-merge", args=("cluster",), success=400, needs=DECIDE),
    Case(
        "post", url="identity:cluster-not-duplicate", args=("cluster",), success=302, needs=DECIDE
    ),
    Case("post", url="identity:cluster-skip", args=("cluster",), success=302, needs=DECIDE),
    Case(
        "post",
        url="identity:cluster-assign",
        args=("cluster",),
        body={"assignee": "{steward}"},
        success=302,
        needs=DECIDE,
    ),  # fmt: skip
    Case("get", url="identity:compare", query="?kind=contact&ids={robert},{bobby}", needs=READ),
    Case(
        "post",
        url="identity:compare-merge",
        query="?kind=contact&ids={robert},{bobby}",
        body={"survivor": "{robert}"},
        success=400,
        needs=DECIDE,
    ),  # fmt: skip
    Case(
        "post",
        url="identity:compare-not-duplicate",
        query="?kind=contact&ids={robert},{bobby}",
        success=302,
        needs=DECIDE,
    ),  # fmt: skip
    Case("get", url="identity:merge-list", needs=READ),
    Case("get", url="identity:merge", args=("merge",), needs=READ, shows=(SALARY_VALUE,)),
    Case("post", url="identity:merge-undo", args=("merge",), success=302, needs=DECIDE),
    Case("get", url="identity:scans", needs=READ),
    Case("get", url="identity:scan-row", args=("scan",), needs=READ),
    Case("get", url="identity:settings", needs=TUNE),
]
