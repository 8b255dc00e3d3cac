"""Service in the shared registries: merges move cases and unmerges put them back; export
and erasure reach cases and their messages."""

from __future__ import annotations

import pytest

from conftest import actor
from rapport.core import privacy
from rapport.customers.tests.factories import SYSTEM, make_account, make_contact
from rapport.identity import services as identity
from rapport.service import services
from rapport.service.models import Case, CaseMessage
from rapport.service.tests.factories import make_case

pytestmark = pytest.mark.django_db


def test_a_merge_moves_cases_and_an_unmerge_puts_them_back(personas):
    stella = actor(personas["stella"])
    keep = make_contact(full_name="Dana Doe", emails=["dana@a.example"])
    gone = make_contact(full_name="Dana Doe", emails=["dana@b.example"])
    case = make_case(contact=gone, subject="Broken chair")
    merge = identity.records_merge(
        actor=stella, kind="contact", survivor_id=keep.pk, merged_ids=[gone.pk]
    )
    assert Case.objects.get(pk=case.pk).contact_id == keep.pk
    assert Case.objects.get(pk=case.pk).reference == case.reference  # the reference stays
    identity.merge_undo(actor=stella, merge=merge)
    assert Case.objects.get(pk=case.pk).contact_id == gone.pk


def test_an_account_merge_moves_its_cases(personas):
    stella = actor(personas["stella"])
    keep, gone = make_account(name="Acme Ltd"), make_account(name="Acme Limited")
    case = make_case(contact=make_contact(), account=gone.pk)
    merge = identity.records_merge(
        actor=stella, kind="account", survivor_id=keep.pk, merged_ids=[gone.pk]
    )
    assert Case.objects.get(pk=case.pk).account_id == keep.pk
    identity.merge_undo(actor=stella, merge=merge)
    assert Case.objects.get(pk=case.pk).account_id == gone.pk


def test_export_holds_the_cases_with_their_messages_and_erasure_removes_them(db):
    dana = make_contact(full_name="Dana Doe")
    case = make_case(contact=dana, subject="Broken chair")
    services.case_note_add(actor=SYSTEM, case=case, body="Angry on the phone")
    exported = privacy.export_all(contact_id=dana.pk)["service"]
    assert exported["cases"][0]["reference"] == case.reference
    assert [m["body"] for m in exported["cases"][0]["messages"]] == ["Angry on the phone"]
    privacy.erase_all(actor=SYSTEM, contact_id=dana.pk)
    assert not Case.objects.filter(contact=dana).exists()
    assert not CaseMessage.objects.filter(case_id=case.pk).exists()


def test_the_demo_part_tells_the_same_story_for_a_seed(monkeypatch, db):
    from rapport.customers.demo import demo_users_ensure
    from rapport.service import demo

    monkeypatch.setattr(demo, "CASES", 25)
    demo_users_ensure()
    for i in range(8):
        make_contact(full_name=f"Demo Person {i}")

    def story() -> list[tuple]:
        return list(
            Case.objects.order_by("id").values_list(
                "contact_id", "kind__key", "subject", "status", "priority"
            )
        )

    line = demo.service_demo_load(seed=7)
    assert line.startswith("cases: 25 over 365 days")
    first = story()
    assert {s for *_, s, _ in first} >= {"closed"} and any(s != "closed" for *_, s, _ in first)
    assert CaseMessage.objects.filter(direction="out").exists()
    assert demo.service_demo_load(seed=7).startswith("cases: there already")
    Case.objects.all().delete()
    demo.service_demo_load(seed=7)
    assert story() == first
