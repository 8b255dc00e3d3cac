"""Cases through their services: creation, status history, notes, replies, follow-ups,
assignment, concurrency."""

from __future__ import annotations

import pytest
from django.core import mail as django_mail

from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed, VersionConflict
from rapport.customers.tests.factories import make_account, make_contact
from rapport.service import services
from rapport.service.models import Case, CaseMessage, CaseStatusChange, pk_of_reference
from rapport.service.tests.factories import make_case
from rapport.timeline.models import EntryLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(personas):
    from rapport.users.models import Team

    sam = personas["sam"]
    sam.teams.add(Team.objects.create(name="Desk"))
    return sam


@pytest.fixture
def nora(bob):
    from rapport.customers.models import DataField

    DataField.objects.create(entity="account", key="tier", label="Tier", type="text")
    account = make_account(owner=bob, name="Northwind", custom={"tier": "gold"})
    return make_contact(
        owner=bob, full_name="Nora North", emails=["nora@northwind.example"], account=account
    )


def test_a_case_has_a_stable_reference_its_contacts_account_and_a_first_status(agent, nora):
    case = services.case_create(
        actor=actor(agent),
        data={"contact": nora.pk, "subject": "Broken chair", "kind": "complaint"},
    )
    assert case.reference == f"C-{case.pk:06d}"
    assert pk_of_reference(f"Re: Broken chair [{case.reference}]") == case.pk
    assert case.account is not None and case.account.name == "Northwind"
    assert case.tier == "gold"
    assert case.owner == agent and case.team is not None and case.team.name == "Desk"
    assert case.status == Case.Status.NEW
    assert list(case.status_changes.values_list("from_status", "to_status")) == [("", "new")]
    assert AuditEntry.objects.filter(
        entity_kind="case", entity_id=case.pk, action="create"
    ).exists()


def test_opening_a_case_puts_it_on_the_contacts_and_the_accounts_timeline(agent, nora):
    case = make_case(contact=nora, actor=actor(agent), subject="Broken chair")
    links = EntryLink.objects.filter(entry__kind="case_opened", entry__data__case=case.pk)
    assert {(link.contact_id, link.account_id) for link in links} == {
        (nora.pk, None),
        (None, case.account_id),
    }


def test_a_role_that_may_not_add_cases_cannot_open_one(bob, nora):
    with pytest.raises(PermissionDenied):
        services.case_create(actor=actor(bob), data={"contact": nora.pk, "subject": "x"})


def test_a_contact_the_actor_may_not_see_is_no_such_contact(personas, nora):
    from rapport.users.models import RolePolicy, Visibility

    # Agents who see only their own contacts: bob's contact does not exist for sam.
    RolePolicy.objects.filter(role="service", kind="contact").update(visibility=Visibility.OWN)
    with pytest.raises(ValidationFailed) as raised:
        services.case_create(
            actor=actor(personas["sam"]), data={"contact": nora.pk, "subject": "x"}
        )
    assert raised.value.errors == {"contact": ["No such contact."]}


def test_every_status_change_is_kept_with_its_moment_and_resolving_then_reopening(agent, nora):
    case = make_case(contact=nora, actor=actor(agent))
    a = actor(agent)
    case = services.case_status_change(actor=a, case=case, status="open")
    case = services.case_status_change(actor=a, case=case, status="resolved")
    assert case.resolved_at is not None
    case = services.case_status_change(actor=a, case=case, status="open")
    assert case.resolved_at is None
    steps = list(
        CaseStatusChange.objects.filter(case=case)
        .order_by("at", "id")
        .values_list("to_status", flat=True)
    )
    assert steps == ["new", "open", "resolved", "open"]
    assert EntryLink.objects.filter(contact=nora, entry__kind="case_status").count() == 3


def test_a_stale_version_changes_nothing(agent, nora):
    case = make_case(contact=nora, actor=actor(agent))
    services.case_update(
        actor=actor(agent),
        case=case,
        data={"subject": "New subject"},
        expected_version=case.version,
    )
    with pytest.raises(VersionConflict):
        services.case_update(
            actor=actor(agent), case=case, data={"topic": "Chairs"}, expected_version=1
        )
    assert Case.objects.get(pk=case.pk).topic == ""


def test_an_internal_note_is_on_the_case_and_timeline_and_is_never_sent(agent, nora):
    case = make_case(contact=nora, actor=actor(agent))
    note = services.case_note_add(
        actor=actor(agent), case=case, body="Customer sounded angry; check the invoice"
    )
    assert note.direction == CaseMessage.Direction.INTERNAL
    assert note.entry is not None and note.entry.direction == "internal"
    assert EntryLink.objects.filter(contact=nora, entry=note.entry).exists()
    assert django_mail.outbox == []
    from rapport.consent.models import OutboundMessage

    assert not OutboundMessage.objects.exists()


def test_an_outbound_call_is_the_first_response(agent, nora):
    case = make_case(contact=nora, actor=actor(agent))
    services.case_call_log(actor=actor(agent), case=case, inbound=True, minutes=3, body="Called in")
    assert Case.objects.get(pk=case.pk).first_response_at is None
    services.case_call_log(
        actor=actor(agent), case=case, inbound=False, minutes=2, body="Called back"
    )
    assert Case.objects.get(pk=case.pk).first_response_at is not None


def test_assigning_moves_the_case_to_another_person_and_team(agent, nora, personas):
    from rapport.users.models import Team

    case = make_case(contact=nora, actor=actor(agent))
    team = Team.objects.create(name="Experts")
    case = services.case_assign(
        actor=actor(agent), case=case, owner=personas["mo"].pk, team=team.pk
    )
    assert (case.owner, case.team) == (personas["mo"], team)
    assert EntryLink.objects.filter(contact=nora, entry__kind="case_assigned").exists()


def test_another_teams_agent_gets_no_such_case(agent, nora, personas):
    from rapport.users.models import Team

    case = make_case(contact=nora, actor=actor(agent))
    other = personas["sam"].__class__.objects.create_user(username="otto", role="service")
    other.teams.add(Team.objects.create(name="Elsewhere"))
    with pytest.raises(NotFound):
        services.case_note_add(actor=actor(other), case=case, body="hello")


def test_is_open_follows_the_status(agent, nora):
    case = make_case(contact=nora, actor=actor(agent))
    assert case.is_open
    for status, is_open in (
        ("resolved", False),
        ("open", True),
        ("closed", False),
        ("waiting_customer", True),
    ):
        case = services.case_status_change(actor=actor(agent), case=case, status=status)
        assert Case.objects.get(pk=case.pk).is_open is is_open
