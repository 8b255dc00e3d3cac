import pytest

from conftest import ROLE_PERSONA
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_contact
from rapport.users import permissions
from rapport.users.models import RecordKind, Role, RolePolicy, Visibility


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("kind", RecordKind.values)
@pytest.mark.parametrize("action", permissions.ACTIONS)
def test_every_role_gets_exactly_its_default_policy(personas, role, kind, action):
    user = personas[ROLE_PERSONA[role]]
    rights = permissions.DEFAULT_POLICIES[role][kind][0]
    assert permissions.can(user, action, kind) is rights[action]


def test_team_visibility_shows_the_teams_records_and_own_only(personas):
    bobs = make_contact(owner=personas["bob"])
    brendas = make_contact(owner=personas["brenda"])
    carls = make_contact(owner=personas["carl"])
    unowned = make_contact()
    seen_by_bob = set(permissions.visible(personas["bob"], "contact", Contact.objects.all()))
    assert seen_by_bob == {bobs, brendas}
    seen_by_carl = set(permissions.visible(personas["carl"], "contact", Contact.objects.all()))
    assert seen_by_carl == {carls}
    assert unowned in set(permissions.visible(personas["sam"], "contact", Contact.objects.all()))


def test_an_admin_tuned_policy_replaces_the_default(personas):
    RolePolicy.objects.filter(role=Role.SALES, kind="contact").update(visibility=Visibility.OWN)
    bob = type(personas["bob"]).objects.get(pk=personas["bob"].pk)  # fresh: no cached policy
    make_contact(owner=personas["brenda"])
    own = make_contact(owner=bob)
    assert list(permissions.visible(bob, "contact", Contact.objects.all())) == [own]


def test_inactive_and_anonymous_users_may_do_nothing(personas):
    from django.contrib.auth.models import AnonymousUser

    for user in (personas["charlie"], AnonymousUser()):
        assert not any(permissions.can(user, a, k) for a in permissions.ACTIONS for k in RecordKind.values)


def test_hidden_fields_include_data_dictionary_fields_by_role(personas):
    from rapport.customers.models import DataField

    DataField.objects.create(entity="contact", key="salary_band", label="Salary band", type="text", view_roles=["manager"])
    DataField.objects.create(entity="contact", key="drivers", label="Drivers", type="text", edit_roles=["sales"])
    mia = permissions.field_access(personas["mia"], "contact")
    assert not mia.can_view("custom.salary_band")
    assert mia.can_view("custom.drivers") and not mia.can_edit("custom.drivers")
    mo = permissions.field_access(personas["mo"], "contact")
    assert mo.can_view("custom.salary_band")
    assert not permissions.field_access(personas["mia"], "account").can_view("notes")
