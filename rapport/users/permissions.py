"""Who may do what: the one place web views and the API both ask.

A role's rights on a kind of record come from ``RolePolicy`` rows (seeded from
``DEFAULT_POLICIES``, tunable by admins). Results are cached on the user object for the
length of a request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import Q, QuerySet

from rapport.core import cache
from rapport.core.errors import NotFound, PermissionDenied
from rapport.users.models import RecordKind, Role, RolePolicy, User, Visibility

Action = Literal["view", "add", "change", "delete", "export"]
ACTIONS: tuple[Action, ...] = ("view", "add", "change", "delete", "export")
# Views pass request.user (possibly anonymous); system work passes None.
UserLike = Any

_FULL = {"view": True, "add": True, "change": True, "delete": True, "export": True}
_EDIT = {"view": True, "add": True, "change": True, "delete": False, "export": False}
_READ = {"view": True, "add": False, "change": False, "delete": False, "export": False}
_NONE = {"view": False, "add": False, "change": False, "delete": False, "export": False}

CUSTOMER_KINDS = (RecordKind.ACCOUNT, RecordKind.CONTACT)

# role -> kind -> (rights, visibility, hidden fields, read-only fields)
DEFAULT_POLICIES: dict[str, dict[str, tuple[dict[str, bool], str, list[str], list[str]]]] = {
    Role.ADMIN: {k: (_FULL, Visibility.ALL, [], []) for k in RecordKind.values},
    Role.MANAGER: {
        RecordKind.ACCOUNT: (_FULL, Visibility.ALL, [], []),
        RecordKind.CONTACT: (_FULL, Visibility.ALL, [], []),
        RecordKind.DATAFIELD: (_READ, Visibility.ALL, [], []),
        RecordKind.AUDIT: (_READ, Visibility.ALL, [], []),
        RecordKind.DUPLICATE: (_READ, Visibility.ALL, [], []),
        RecordKind.PROPOSAL: (_READ, Visibility.ALL, [], []),
        RecordKind.MAILBOX: (_NONE, Visibility.NONE, [], []),
        RecordKind.LEAD: (_FULL, Visibility.ALL, [], []),
        RecordKind.DEAL: (_FULL, Visibility.ALL, [], []),
        RecordKind.SALES_SETUP: (_EDIT, Visibility.ALL, [], []),
        RecordKind.TASK: (_FULL, Visibility.ALL, [], []),
        RecordKind.CASE: (_FULL, Visibility.ALL, [], []),
        RecordKind.SERVICE_SETUP: (_EDIT, Visibility.ALL, [], []),
        RecordKind.CONSENT: ({**_READ, "add": True, "export": True}, Visibility.ALL, [], []),
        RecordKind.PRIVACY: (_READ, Visibility.ALL, [], []),
        # Managers read every campaign's results and every answer; marketing runs them.
        RecordKind.CAMPAIGN: ({**_READ, "export": True}, Visibility.ALL, [], []),
        RecordKind.SURVEY: ({**_READ, "export": True}, Visibility.ALL, [], []),
    },
    # Sales reps work their team's book of business and cannot reassign it.
    Role.SALES: {
        RecordKind.ACCOUNT: (_EDIT, Visibility.TEAM, [], ["owner"]),
        RecordKind.CONTACT: (_EDIT, Visibility.TEAM, [], ["owner"]),
        RecordKind.DATAFIELD: (_READ, Visibility.ALL, [], []),
        RecordKind.AUDIT: (_READ, Visibility.ALL, [], []),
        RecordKind.DUPLICATE: (_NONE, Visibility.NONE, [], []),
        RecordKind.PROPOSAL: (_NONE, Visibility.NONE, [], []),
        RecordKind.MAILBOX: (_NONE, Visibility.NONE, [], []),
        RecordKind.LEAD: (_EDIT, Visibility.TEAM, [], ["owner"]),
        RecordKind.DEAL: (_EDIT, Visibility.TEAM, [], ["owner"]),
        RecordKind.SALES_SETUP: (_READ, Visibility.ALL, [], []),
        RecordKind.TASK: ({**_EDIT, "delete": True}, Visibility.TEAM, [], []),
        # Sales sees the complaint before the call.
        RecordKind.CASE: (_READ, Visibility.ALL, [], []),
        RecordKind.SERVICE_SETUP: (_READ, Visibility.ALL, [], []),
        RecordKind.CONSENT: ({**_READ, "add": True}, Visibility.TEAM, [], []),
        RecordKind.PRIVACY: (_NONE, Visibility.NONE, [], []),
        # A rep sees which campaigns touched a customer and what the customer answered.
        RecordKind.CAMPAIGN: (_READ, Visibility.ALL, [], []),
        RecordKind.SURVEY: (_READ, Visibility.ALL, [], []),
    },
    # Marketing segments the whole base and exports lists, but does not read sales notes.
    Role.MARKETING: {
        RecordKind.ACCOUNT: (
            {**_EDIT, "export": True}, Visibility.ALL, ["notes"], ["owner"]
        ),
        RecordKind.CONTACT: ({**_EDIT, "export": True}, Visibility.ALL, [], ["owner"]),
        RecordKind.DATAFIELD: (_READ, Visibility.ALL, [], []),
        RecordKind.AUDIT: (_NONE, Visibility.NONE, [], []),
        RecordKind.DUPLICATE: (_NONE, Visibility.NONE, [], []),
        RecordKind.PROPOSAL: (_NONE, Visibility.NONE, [], []),
        RecordKind.MAILBOX: (_NONE, Visibility.NONE, [], []),
        RecordKind.LEAD: ({**_EDIT, "export": True}, Visibility.ALL, [], ["owner"]),
        # Influenced and won revenue per campaign, not the deal's negotiation.
        RecordKind.DEAL: (_READ, Visibility.ALL, [], []),
        RecordKind.SALES_SETUP: (_READ, Visibility.ALL, [], []),
        RecordKind.TASK: ({**_EDIT, "delete": True}, Visibility.TEAM, [], []),
        RecordKind.CASE: (_READ, Visibility.ALL, [], []),
        RecordKind.SERVICE_SETUP: (_NONE, Visibility.NONE, [], []),
        RecordKind.CONSENT: ({**_READ, "add": True, "export": True}, Visibility.ALL, [], []),
        RecordKind.PRIVACY: (_NONE, Visibility.NONE, [], []),
        RecordKind.CAMPAIGN: (_FULL, Visibility.ALL, [], []),
        RecordKind.SURVEY: (_FULL, Visibility.ALL, [], []),
    },
    # The contact center must find any caller, and keeps their details current.
    Role.SERVICE: {
        RecordKind.ACCOUNT: (_READ, Visibility.ALL, [], []),
        RecordKind.CONTACT: ({**_EDIT, "add": True}, Visibility.ALL, [], ["owner"]),
        RecordKind.DATAFIELD: (_READ, Visibility.ALL, [], []),
        RecordKind.AUDIT: (_READ, Visibility.ALL, [], []),
        RecordKind.DUPLICATE: (_NONE, Visibility.NONE, [], []),
        RecordKind.PROPOSAL: (_NONE, Visibility.NONE, [], []),
        RecordKind.MAILBOX: (_NONE, Visibility.NONE, [], []),
        # An agent qualifies a caller as a sales lead and sees the leads they raised.
        RecordKind.LEAD: ({**_READ, "add": True}, Visibility.OWN, [], ["owner"]),
        # The screen pop lists a caller's open deals.
        RecordKind.DEAL: (_READ, Visibility.ALL, [], []),
        RecordKind.SALES_SETUP: (_NONE, Visibility.NONE, [], []),
        RecordKind.TASK: ({**_EDIT, "delete": True}, Visibility.TEAM, [], []),
        RecordKind.CASE: (_EDIT, Visibility.TEAM, [], []),
        RecordKind.SERVICE_SETUP: (_READ, Visibility.ALL, [], []),
        RecordKind.CONSENT: ({**_READ, "add": True}, Visibility.ALL, [], []),
        RecordKind.PRIVACY: (_NONE, Visibility.NONE, [], []),
        RecordKind.CAMPAIGN: (_READ, Visibility.ALL, [], []),
        # The answer to the CSAT survey of a case is read where the case is.
        RecordKind.SURVEY: (_READ, Visibility.ALL, [], []),
    },
    # Stewards review and merge duplicates (change); only admins tune matching (delete).
    Role.STEWARD: {
        RecordKind.ACCOUNT: (_FULL, Visibility.ALL, [], []),
        RecordKind.CONTACT: (_FULL, Visibility.ALL, [], []),
        RecordKind.DATAFIELD: (_READ, Visibility.ALL, [], []),
        RecordKind.AUDIT: (_READ, Visibility.ALL, [], []),
        RecordKind.DUPLICATE: (_EDIT, Visibility.ALL, [], []),
        RecordKind.PROPOSAL: (_EDIT, Visibility.ALL, [], []),
        RecordKind.MAILBOX: (_NONE, Visibility.NONE, [], []),
        RecordKind.LEAD: (_READ, Visibility.ALL, [], []),
        RecordKind.DEAL: (_READ, Visibility.ALL, [], []),
        RecordKind.SALES_SETUP: (_NONE, Visibility.NONE, [], []),
        RecordKind.TASK: ({**_EDIT, "delete": True}, Visibility.OWN, [], []),
        RecordKind.CASE: (_READ, Visibility.ALL, [], []),
        RecordKind.SERVICE_SETUP: (_NONE, Visibility.NONE, [], []),
        RecordKind.CONSENT: ({**_READ, "add": True, "export": True}, Visibility.ALL, [], []),
        # Stewards answer export and erasure requests.
        RecordKind.PRIVACY: ({**_EDIT, "export": True}, Visibility.ALL, [], []),
        RecordKind.CAMPAIGN: (_NONE, Visibility.NONE, [], []),
        RecordKind.SURVEY: (_READ, Visibility.ALL, [], []),
    },
    Role.READONLY: {
        RecordKind.ACCOUNT: (_READ, Visibility.ALL, ["notes"], []),
        RecordKind.CONTACT: (_READ, Visibility.ALL, [], []),
        RecordKind.DATAFIELD: (_READ, Visibility.ALL, [], []),
        RecordKind.AUDIT: (_NONE, Visibility.NONE, [], []),
        RecordKind.DUPLICATE: (_NONE, Visibility.NONE, [], []),
        RecordKind.PROPOSAL: (_NONE, Visibility.NONE, [], []),
        RecordKind.MAILBOX: (_NONE, Visibility.NONE, [], []),
        RecordKind.LEAD: (_READ, Visibility.ALL, [], []),
        RecordKind.DEAL: (_READ, Visibility.ALL, [], []),
        RecordKind.SALES_SETUP: (_READ, Visibility.ALL, [], []),
        RecordKind.TASK: (_NONE, Visibility.NONE, [], []),
        RecordKind.CASE: (_READ, Visibility.ALL, [], []),
        RecordKind.SERVICE_SETUP: (_READ, Visibility.ALL, [], []),
        RecordKind.CONSENT: (_READ, Visibility.ALL, [], []),
        RecordKind.PRIVACY: (_NONE, Visibility.NONE, [], []),
        RecordKind.CAMPAIGN: (_READ, Visibility.ALL, [], []),
        RecordKind.SURVEY: (_READ, Visibility.ALL, [], []),
    },
}


def default_policy(role: str, kind: str) -> RolePolicy:
    rights, visibility, hidden, readonly = DEFAULT_POLICIES.get(role, {}).get(
        kind, (_NONE, Visibility.NONE, [], [])
    )
    return RolePolicy(
        role=role,
        kind=kind,
        can_view=rights["view"],
        can_add=rights["add"],
        can_change=rights["change"],
        can_delete=rights["delete"],
        can_export=rights["export"],
        visibility=visibility,
        hidden_fields=list(hidden),
        readonly_fields=list(readonly),
    )


def is_system(user: Any) -> bool:
    """Work the app does on its own (demo data, scheduled jobs) passes no user."""
    return user is None


def role_of(user: Any) -> str:
    if user is None:
        return Role.ADMIN
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ""
    return Role.ADMIN if user.is_superuser else user.role


@functools.cache
def _system_policies() -> dict[str, RolePolicy]:
    return {k: default_policy(Role.ADMIN, k) for k in RecordKind.values}


def _policies(user: UserLike) -> dict[str, RolePolicy]:
    if is_system(user):
        return _system_policies()
    cached = getattr(user, "_rapport_policies", None)
    if cached is None:
        role = role_of(user)
        stored = (
            cache.cached(f"policies:{role}", lambda: {p.kind: p for p in RolePolicy.objects.filter(role=role)})
            if role
            else {}
        )
        cached = {k: stored.get(k) or default_policy(role, k) for k in RecordKind.values}
        user._rapport_policies = cached  # type: ignore[attr-defined]
    return cached


def policy(user: UserLike, kind: str) -> RolePolicy:
    if not role_of(user):
        return default_policy("", kind)
    return _policies(user)[kind]


def can(user: UserLike, action: str, kind: str) -> bool:
    return bool(role_of(user)) and bool(getattr(policy(user, kind), f"can_{action}"))


def require(user: UserLike, action: str, kind: str) -> None:
    if not can(user, action, kind):
        raise PermissionDenied(f"Your role may not {action} {kind} records.")


def _team_member_ids(user: UserLike) -> list[int]:
    if is_system(user):
        return []
    cached = getattr(user, "_rapport_team_members", None)
    if cached is None:
        cached = list(
            User.objects.filter(teams__in=user.teams.all()).values_list("id", flat=True).distinct()
        )
        if user.pk not in cached:
            cached.append(user.pk)
        user._rapport_team_members = cached  # type: ignore[attr-defined]
    return cached


def visible_owner_ids(user: UserLike, kind: str) -> list[int] | None:
    """Owners whose records ``user`` may see: None for all records, [] for none."""
    p = policy(user, kind)
    if not p.can_view or p.visibility == Visibility.NONE:
        return []
    if p.visibility == Visibility.ALL:
        return None
    return [user.pk] if p.visibility == Visibility.OWN else _team_member_ids(user)


def visibility_q(user: UserLike, kind: str, owner_field: str = "owner") -> Q | None:
    """A filter for the records ``user`` may see; ``None`` means all of them."""
    p = policy(user, kind)
    if not p.can_view or p.visibility == Visibility.NONE:
        return Q(pk__in=[])
    if p.visibility == Visibility.ALL:
        return None
    if p.visibility == Visibility.OWN:
        return Q(**{f"{owner_field}_id": user.pk})
    return Q(**{f"{owner_field}_id__in": _team_member_ids(user)})


def visible(user: UserLike, kind: str, qs: QuerySet) -> QuerySet:
    q = visibility_q(user, kind)
    return qs if q is None else qs.filter(q)


def can_see_record(user: UserLike, kind: str, obj: Any) -> bool:
    p = policy(user, kind)
    if not p.can_view or p.visibility == Visibility.NONE:
        return False
    if p.visibility == Visibility.ALL:
        return True
    if p.visibility == Visibility.OWN:
        return obj.owner_id == user.pk
    return obj.owner_id in _team_member_ids(user)


def require_record(user: UserLike, action: str, kind: str, obj: Any) -> None:
    """Raise NotFound for a record the user may not see (its existence is not revealed),
    PermissionDenied for one they see but may not act on."""
    if not can_see_record(user, kind, obj):
        raise NotFound(f"No such {kind}.")
    require(user, action, kind)


@dataclass
class FieldAccess:
    hidden: set[str] = field(default_factory=set)
    readonly: set[str] = field(default_factory=set)

    def can_view(self, name: str) -> bool:
        return name not in self.hidden

    def can_edit(self, name: str) -> bool:
        return name not in self.hidden and name not in self.readonly


def field_access(user: UserLike, kind: str) -> FieldAccess:
    """Built-in and data-dictionary fields hidden from / read-only for the user's role.

    Data-dictionary fields appear as ``custom.<key>``.
    """
    if is_system(user):
        return FieldAccess()
    cache = getattr(user, "_rapport_field_access", None)
    if cache is None:
        cache = {}
        user._rapport_field_access = cache  # type: ignore[attr-defined]
    if kind in cache:
        return cache[kind]
    from rapport.customers.datadict import active_fields

    p = policy(user, kind)
    access = FieldAccess(hidden=set(p.hidden_fields), readonly=set(p.readonly_fields))
    role = role_of(user)
    if kind in CUSTOMER_KINDS:
        for df in active_fields(kind):
            name = f"custom.{df.key}"
            if df.view_roles and role not in df.view_roles and role != Role.ADMIN:
                access.hidden.add(name)
            elif df.edit_roles and role not in df.edit_roles and role != Role.ADMIN:
                access.readonly.add(name)
    cache[kind] = access
    return access


def require_fields_writable(user: UserLike, kind: str, names: list[str]) -> None:
    from rapport.core.errors import ValidationFailed

    access = field_access(user, kind)
    errors = {n: ["Your role may not set this field."] for n in names if not access.can_edit(n)}
    if errors:
        raise ValidationFailed("Some fields may not be set by your role.", errors=errors)


def nav_permissions(user: UserLike) -> dict[str, bool]:
    return {
        "accounts": can(user, "view", RecordKind.ACCOUNT),
        "contacts": can(user, "view", RecordKind.CONTACT),
        "datafields": can(user, "view", RecordKind.DATAFIELD),
        "datafields_admin": can(user, "change", RecordKind.DATAFIELD),
        # Imports add records; the page lists only the user's own unless they manage data.
        "imports": can(user, "add", RecordKind.CONTACT) or can(user, "add", RecordKind.ACCOUNT),
        "duplicates": can(user, "view", RecordKind.DUPLICATE),
        "proposals": can(user, "view", RecordKind.PROPOSAL),
        "mail_upload": can(user, "change", RecordKind.CONTACT),
        # Everyone may connect their own mailbox; shared ones need the mailbox right.
        "mailboxes": getattr(user, "is_authenticated", False),
        "leads": can(user, "view", RecordKind.LEAD),
        "deals": can(user, "view", RecordKind.DEAL),
        "tasks": can(user, "view", RecordKind.TASK),
        "cases": can(user, "view", RecordKind.CASE),
        "consent": can(user, "view", RecordKind.CONSENT),
        "privacy": can(user, "view", RecordKind.PRIVACY),
        "campaigns": can(user, "view", RecordKind.CAMPAIGN),
        "surveys": can(user, "view", RecordKind.SURVEY),
        "is_admin": role_of(user) == Role.ADMIN,
    }
