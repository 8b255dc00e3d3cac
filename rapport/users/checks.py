"""System check: every kind of record has a default policy for every role.

A new app adds its record kind to ``RecordKind`` (with the migration that changes the
choices: ``makemigrations --check`` in CI catches a forgotten one) and says in
``DEFAULT_POLICIES`` what each role may do with it. A kind a role was not given would fall
back to "nothing, see nothing" without anyone having decided so; this check makes the
decision explicit.
"""

from __future__ import annotations

from typing import Any

from django.core import checks


def check_default_policies(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from rapport.users.models import RecordKind, Role
    from rapport.users.permissions import DEFAULT_POLICIES

    return [
        checks.Error(
            f"The role {role!r} has no default policy for the record kind {kind!r}.",
            hint="Add it to rapport.users.permissions.DEFAULT_POLICIES (even if it may do nothing).",
            obj=f"{role}:{kind}",
            id="users.E001",
        )
        for role in Role.values
        for kind in RecordKind.values
        if kind not in DEFAULT_POLICIES.get(role, {})
    ]
