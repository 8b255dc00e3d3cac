"""Merging records into a survivor and undoing it (services.records_merge / merge_undo)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.core.errors import Conflict, Moved, PermissionDenied, VersionConflict
from rapport.customers import selectors as customer_selectors
from rapport.customers import services as customer_services
from rapport.customers.models import (
    Account,
    AccountMembership,
    Contact,
    ContactEmail,
    ContactPhone,
    DataField,
    SearchToken,
)
from rapport.customers.tests.factories import SYSTEM, make_account, make_contact
from rapport.identity import services
from rapport.identity.models import MergedId, NotDuplicate, Rule
from rapport.identity.registry import REGISTRY, row_values


def _state(kind: str, ids: list[int]) -> dict:
    """Every stored row of the records and of each registered relation pointing at them."""
    model = services.model_of(kind)
    out: dict = {"records": {o.pk: row_values(o) for o in model.objects.filter(pk__in=ids)}}
    for rel in REGISTRY.for_kind(kind):
        rows = rel.model._default_manager.filter(**{f"{rel.column}__in": ids})
        out[rel.name] = sorted((tuple(sorted(row_values(r).items())) for r in rows), key=str)
    return out


def _without_survivor_version(state: dict, survivor: int) -> dict:
    record = dict(state["records"][survivor])
    record.pop("version"), record.pop("updated_at")
    return {**state, "records": {**state["records"], survivor: record}}


def test_merge_unites_parts_without_duplicates_and_moves_memberships(personas):
    acme, globex = make_account(name="Acme"), make_account(name="Globex")
    robert = make_contact(
        given_name="Robert",
        family_name="Smith",
        emails=["rob@acme.com", "r.smith@gmail.com"],
        phones=["+442071234567"],
        account=acme,
    )
    bob = make_contact(
        given_name="Bob",
        family_name="Smith",
        emails=["r.smith@gmail.com", "bob@home.net"],
        phones=["+442071234567", "+447911123456"],
        account=globex,
        job_title="CTO",
    )
    merge = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=robert.pk, merged_ids=[bob.pk]
    )

    assert not Contact.objects.filter(pk=bob.pk).exists()
    assert sorted(ContactEmail.objects.filter(contact=robert).values_list("email", flat=True)) == [
        "bob@home.net",
        "r.smith@gmail.com",
        "rob@acme.com",
    ]
    assert sorted(ContactPhone.objects.filter(contact=robert).values_list("e164", flat=True)) == [
        "+442071234567",
        "+447911123456",
    ]
    assert ContactEmail.objects.filter(contact=robert, is_primary=True).count() == 1
    assert set(
        AccountMembership.objects.filter(contact=robert).values_list("account_id", flat=True)
    ) == {acme.pk, globex.pk}
    robert.refresh_from_db()
    assert robert.job_title == "CTO"  # the survivor had none: filled from the other record
    assert robert.given_name == "Robert"
    assert MergedId.objects.get(old_id=bob.pk).survivor_id == robert.pk
    assert merge.survivor_after == {"job_title": "CTO"}
    # Both records' histories tell the story.
    assert AuditEntry.objects.filter(
        entity_kind="contact", entity_id=robert.pk, action="merge"
    ).exists()
    assert AuditEntry.objects.filter(
        entity_kind="contact", entity_id=bob.pk, action="merge"
    ).get().changes == {"merged_into": [None, robert.pk]}


def test_merge_then_unmerge_restores_every_row_exactly(personas):
    acme = make_account(name="Acme")
    a = make_contact(
        given_name="Liz", family_name="Taylor", emails=["liz@acme.com"], account=acme, tags=["vip"]
    )
    b = make_contact(
        given_name="Elizabeth",
        family_name="Taylor",
        emails=["liz@acme.com", "e.taylor@mail.com"],
        phones=["+33612345678"],
        account=acme,
        tags=["vip", "beta"],
        job_title="Buyer",
    )
    before = _state("contact", [a.pk, b.pk])
    merge = services.records_merge(
        actor=actor(personas["stella"]),
        kind="contact",
        survivor_id=a.pk,
        merged_ids=[b.pk],
        choices={"given_name": b.pk},
    )
    a.refresh_from_db()
    assert a.given_name == "Elizabeth"

    services.merge_undo(actor=actor(personas["stella"]), merge=merge)

    after = _state("contact", [a.pk, b.pk])
    assert _without_survivor_version(after, a.pk) == _without_survivor_version(before, a.pk)
    assert not MergedId.objects.exists()
    assert NotDuplicate.objects.filter(left_id=a.pk, right_id=b.pk).exists()
    assert set(SearchToken.objects.filter(contact_id=b.pk).values_list("token", flat=True)) == {
        "elizabeth",
        "taylor",
    }
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.conflicts == []


def test_unmerge_keeps_changes_made_to_the_survivor_since_and_reports_them(personas):
    a = make_contact(given_name="Ann", family_name="Lee", emails=["ann@x.com"])
    b = make_contact(
        given_name="Ann", family_name="Lee", emails=["ann.lee@y.com"], job_title="Engineer"
    )
    merge = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )
    a.refresh_from_db()
    customer_services.contact_update(actor=SYSTEM, contact=a, data={"job_title": "Director"})
    ContactEmail.objects.filter(email="ann.lee@y.com").delete()  # a moved part removed since

    merge = services.merge_undo(actor=actor(personas["stella"]), merge=merge)

    a.refresh_from_db()
    assert a.job_title == "Director"  # kept: changed after the merge
    assert Contact.objects.get(pk=b.pk).job_title == "Engineer"
    assert any("job title" in c for c in merge.conflicts)
    assert any("removed since the merge" in c for c in merge.conflicts)


def test_survivorship_rules_most_complete_most_recent_and_trusted_source(personas):
    conf = services.settings_get()
    services.settings_update(
        actor=actor(personas["alice"]),
        data={
            "contact_rules": {
                "job_title": Rule.MOST_COMPLETE,
                "department": Rule.MOST_RECENT,
                "family_name": Rule.TRUSTED_SOURCE,
            },
            "source_ranking": ["erp", "web form"],
        },
        expected_version=conf.version,
    )
    a = make_contact(
        given_name="Jo", family_name="Smyth", job_title="VP", department="Sales", source="web form"
    )
    b = make_contact(
        given_name="Jo",
        family_name="Smith",
        job_title="Vice President Sales",
        department="Marketing",
        source="erp",
    )
    Contact.objects.filter(pk=a.pk).update(
        updated_at=b.updated_at.replace(year=2001)
    )  # b is the more recent
    services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )
    a.refresh_from_db()
    assert (a.job_title, a.department, a.family_name) == (
        "Vice President Sales",
        "Marketing",
        "Smith",
    )


def test_stewards_and_admins_merge_other_roles_may_not(personas):
    a, b = make_contact(), make_contact()
    for name in ("bob", "mia", "sam", "rita", "mo"):
        with pytest.raises(PermissionDenied):
            services.records_merge(
                actor=actor(personas[name]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
            )
    assert Contact.objects.filter(pk=b.pk).exists()
    services.records_merge(
        actor=actor(personas["alice"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )


def test_a_stale_version_merges_nothing(personas):
    a, b = make_contact(), make_contact()
    with pytest.raises(VersionConflict):
        services.records_merge(
            actor=actor(personas["stella"]),
            kind="contact",
            survivor_id=a.pk,
            merged_ids=[b.pk],
            expected_versions={b.pk: b.version - 1 or 99},
        )
    assert Contact.objects.filter(pk=b.pk).exists()


def test_a_merged_id_resolves_to_the_survivor(personas, client):
    a, b = make_contact(), make_contact()
    services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )
    with pytest.raises(Moved) as caught:
        customer_selectors.contact_get(actor=personas["alice"], pk=b.pk)
    assert caught.value.target_id == a.pk
    client.force_login(personas["alice"])
    response = client.get(f"/contacts/{b.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/contacts/{a.pk}/"
    # The survivor's history shows the merged-away record's own history too.
    entries = customer_selectors.history(actor=personas["alice"], kind="contact", obj=a)
    assert {e.entity_id for e in entries} == {a.pk, b.pk}


def test_chained_merges_resolve_to_the_last_survivor_and_unwind_in_order(personas):
    a, b, c = make_contact(), make_contact(), make_contact()
    first = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=b.pk, merged_ids=[a.pk]
    )
    second = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=c.pk, merged_ids=[b.pk]
    )
    assert MergedId.objects.get(old_id=a.pk).survivor_id == c.pk
    with pytest.raises(Conflict):
        services.merge_undo(actor=actor(personas["stella"]), merge=first)
    services.merge_undo(actor=actor(personas["stella"]), merge=second)
    assert MergedId.objects.get(old_id=a.pk).survivor_id == b.pk
    services.merge_undo(actor=actor(personas["stella"]), merge=first)
    assert Contact.objects.filter(pk__in=[a.pk, b.pk, c.pk]).count() == 3


def test_account_merge_moves_people_and_a_shared_person_keeps_one_primary_membership(personas):
    acme = make_account(name="ACME, Inc.", domains=["acme.com"])
    acme2 = make_account(name="Acme Incorporated", domains=["acme-corp.com"])
    both = make_contact(account=acme2)
    customer_services.part_add(
        actor=SYSTEM, parent=both, part="memberships", data={"account": acme.pk}
    )
    only2 = make_contact(account=acme2)
    before = _state("account", [acme.pk, acme2.pk])
    contacts_before = _state("contact", [both.pk, only2.pk])
    merge = services.records_merge(
        actor=actor(personas["stella"]), kind="account", survivor_id=acme.pk, merged_ids=[acme2.pk]
    )
    assert set(
        AccountMembership.objects.filter(account=acme).values_list("contact_id", flat=True)
    ) == {both.pk, only2.pk}
    assert AccountMembership.objects.get(contact=both).is_primary  # took over the primary flag
    assert sorted(acme.domains.values_list("domain", flat=True)) == ["acme-corp.com", "acme.com"]
    services.merge_undo(actor=actor(personas["stella"]), merge=merge)
    assert _without_survivor_version(
        _state("account", [acme.pk, acme2.pk]), acme.pk
    ) == _without_survivor_version(before, acme.pk)
    assert _state("contact", [both.pk, only2.pk]) == contacts_before
    assert not Account.objects.filter(pk=acme2.pk, version__gt=acme2.version).exists()


def test_merging_three_records_with_a_data_dictionary_field(personas):
    DataField.objects.create(
        entity="contact", key="customer_no", label="Customer number", type="text"
    )
    a = make_contact(custom={})
    b = make_contact(custom={"customer_no": "C-1"})
    c = make_contact()
    before = _state("contact", [a.pk, b.pk, c.pk])
    merge = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk, c.pk]
    )
    a.refresh_from_db()
    assert a.custom == {"customer_no": "C-1"}
    assert ContactEmail.objects.filter(contact=a).count() == 3
    services.merge_undo(actor=actor(personas["stella"]), merge=merge)
    assert _without_survivor_version(
        _state("contact", [a.pk, b.pk, c.pk]), a.pk
    ) == _without_survivor_version(before, a.pk)


_emails = st.lists(
    st.sampled_from(["a@x.com", "b@x.com", "c@y.com", "d@gmail.com"]), max_size=3, unique=True
)
_phones = st.lists(
    st.sampled_from(["+442071234567", "+33612345678", "+4915112345678"]), max_size=2, unique=True
)
_tags = st.lists(st.sampled_from(["vip", "beta", "press"]), max_size=3, unique=True)
_record = st.fixed_dictionaries({
    "emails": _emails, "phones": _phones, "tags": _tags,
    "accounts": st.lists(st.integers(0, 2), max_size=2, unique=True),
    "job_title": st.sampled_from(["", "CTO", "Buyer"]),
    "given_name": st.sampled_from(["Ann", "Anne", ""]),
    "xid": st.booleans(),
})  # fmt: skip


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=st.lists(_record, min_size=2, max_size=4),
    survivor=st.integers(0, 3),
    pick=st.integers(0, 3),
)
def test_property_merge_then_unmerge_gives_back_the_original_state(
    personas, records, survivor, pick
):
    accounts = [make_account() for _ in range(3)]
    contacts = []
    for i, r in enumerate(records):
        c = make_contact(
            given_name=r["given_name"] or "X",
            family_name="Doe",
            emails=r["emails"],
            phones=r["phones"],
            job_title=r["job_title"],
            tags=r["tags"],
        )
        for j in r["accounts"]:
            customer_services.part_add(
                actor=SYSTEM,
                parent=c,
                part="memberships",
                data={"account": accounts[j].pk, "job_title": r["job_title"]},
            )
        if r["xid"]:
            customer_services.part_add(
                actor=SYSTEM,
                parent=c,
                part="external_ids",
                data={"source": "erp", "external_id": f"E{c.pk}-{i}"},
            )
        contacts.append(c)
    ids = [c.pk for c in contacts]
    keep = ids[survivor % len(ids)]
    before = _state("contact", ids)
    accounts_before = _state("account", [a.pk for a in accounts])
    merge = services.records_merge(
        actor=actor(personas["stella"]),
        kind="contact",
        survivor_id=keep,
        merged_ids=ids,
        choices={"job_title": ids[pick % len(ids)]},
    )
    assert Contact.objects.filter(pk__in=ids).count() == 1
    services.merge_undo(actor=actor(personas["stella"]), merge=merge)
    assert _without_survivor_version(_state("contact", ids), keep) == _without_survivor_version(
        before, keep
    )
    assert _state("account", [a.pk for a in accounts]) == accounts_before


def test_unmerge_restores_timestamps_to_the_microsecond(personas):
    import datetime as dt

    a, b = make_contact(), make_contact()
    moment = dt.datetime(
        2024, 5, 6, 7, 8, 9, 500, tzinfo=dt.UTC
    )  # 0.0005 s: lost at millisecond precision
    Contact.objects.filter(pk=b.pk).update(updated_at=moment)
    ContactEmail.objects.filter(contact=b).update(created_at=moment)
    merge = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )
    services.merge_undo(actor=actor(personas["stella"]), merge=merge)
    assert Contact.objects.get(pk=b.pk).updated_at == moment
    assert ContactEmail.objects.get(contact=b).created_at == moment


def test_the_name_survives_whole_from_one_record(personas):
    gilbert = make_contact(given_name="Gilbert", family_name="Guilbert", emails=["g@guilbert.fr"])
    gabrielle = make_contact(
        given_name="Gabrielle",
        middle_name="Émilie",
        family_name="Guilbert",
        emails=["gg@guilbert.fr"],
    )
    services.records_merge(
        actor=actor(personas["stella"]),
        kind="contact",
        survivor_id=gilbert.pk,
        merged_ids=[gabrielle.pk],
    )
    gilbert.refresh_from_db()
    assert (gilbert.given_name, gilbert.middle_name, gilbert.family_name) == (
        "Gilbert",
        "",
        "Guilbert",
    )
    assert gilbert.full_name == "Gilbert Guilbert"


def test_choosing_one_part_of_the_name_takes_the_whole_name_from_that_record(personas):
    gilbert = make_contact(given_name="Gilbert", family_name="Guilbert", emails=["g@guilbert.fr"])
    gabrielle = make_contact(
        given_name="Gabrielle",
        middle_name="Émilie",
        family_name="Guilbert",
        emails=["gg@guilbert.fr"],
    )
    services.records_merge(
        actor=actor(personas["stella"]),
        kind="contact",
        survivor_id=gilbert.pk,
        merged_ids=[gabrielle.pk],
        choices={"given_name": gabrielle.pk},
    )
    gilbert.refresh_from_db()
    assert gilbert.full_name == "Gabrielle Émilie Guilbert"
    assert (gilbert.given_name, gilbert.middle_name) == ("Gabrielle", "Émilie")
    from rapport.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as mixed:
        other = make_contact(given_name="Gil", family_name="Bert", emails=["gil@bert.fr"])
        services.records_merge(
            actor=actor(personas["stella"]),
            kind="contact",
            survivor_id=gilbert.pk,
            merged_ids=[other.pk],
            choices={"given_name": other.pk, "family_name": gilbert.pk},
        )
    assert "given_name" in mixed.value.errors
