"""Every record kind has a default policy for every role, or the build fails."""

from rapport.users import permissions
from rapport.users.checks import check_default_policies
from rapport.users.models import RecordKind, Role


def test_every_role_has_a_default_policy_for_every_kind():
    assert check_default_policies() == []


def test_a_kind_a_role_was_not_given_fails_the_check(monkeypatch):
    policies = {role: dict(kinds) for role, kinds in permissions.DEFAULT_POLICIES.items()}
    del policies[Role.READONLY][RecordKind.MAILBOX]
    monkeypatch.setattr(permissions, "DEFAULT_POLICIES", policies)
    errors = check_default_policies()
    assert [(e.id, e.obj) for e in errors] == [("users.E001", "readonly:mailbox")]
