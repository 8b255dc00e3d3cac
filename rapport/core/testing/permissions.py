"""The permission harness: every API operation and every web page, for every role.

Each app declares its endpoints in ``<app>/tests/permission_cases.py``: a ``build(world)``
that makes the records its cases need (through services and factories), and ``CASES``, a
list of :class:`Case`. ``rapport/core/tests/test_permission_harness.py`` runs every case
for every persona and checks that nothing served is missing from the harness.

A case does not say who may call it: it says what the call needs (``needs``, pairs of
record kind and action, and ``parent``, the kind of the record in its path), and the
expected status for each role is computed from ``DEFAULT_POLICIES``, the policies the
migrations seed. A policy change moves the expectations with it.

The records belong to bob (sales, North). carl plays sales too, in the South team: where
his role sees records by team, he must get 404 for bob's, never 403, so he does not learn
they exist. Values of hidden fields (``HIDDEN``) must never appear in a response to a
role they are hidden from, on any endpoint.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rapport.users.models import Role, Visibility
from rapport.users.permissions import DEFAULT_POLICIES

# persona -> role. One persona per role, plus carl: the same role as bob, another team.
PLAYERS: dict[str, str] = {
    "alice": Role.ADMIN,
    "mo": Role.MANAGER,
    "bob": Role.SALES,
    "mia": Role.MARKETING,
    "sam": Role.SERVICE,
    "stella": Role.STEWARD,
    "rita": Role.READONLY,
    "carl": Role.SALES,
}
OWNER = "bob"
OWNER_TEAM = {"bob", "brenda"}
ANONYMOUS = "anonymous"

# Marker values that the shared world stores in fields some roles may not read. A
# response to such a role must not contain the marker, whichever endpoint it came from.
# (kind, field name as the policies spell it, marker)
ACCOUNT_NOTES = "Budget-is-tight-7731"
SALARY_VALUE = "Secret-salary-4410"
SALARY_FIELD = "salary"
# Sales and stewards read it: the manager, who reviews duplicates, must not, on any path.
HIDDEN_FIELD_ROLES = [Role.SALES, Role.STEWARD]
HIDDEN: list[tuple[str, str, str]] = [
    ("account", "notes", ACCOUNT_NOTES),
    ("contact", f"custom.{SALARY_FIELD}", SALARY_VALUE),
]

Body = dict[str, Any] | Callable[["World"], dict[str, Any]] | None
Expect = Callable[[str, str], int]


@dataclass(frozen=True)
class Case:
    """One call: an API operation (``path`` under /api/v1, placeholders from the world's
    ids) or a web page (``url`` a URL name, ``args`` the world keys of its arguments).

    ``parent`` is the kind of the record the path names (bob's): a role that may not view
    that kind gets 403, one that may but not that record (another team) 404. ``needs``
    are the (kind, action) rights the call needs beyond that. ``expect`` replaces the
    computed rule where the code's rule is not a pure policy check; it says why.
    """

    method: str
    path: str = ""
    url: str = ""
    args: tuple[str, ...] = ()
    query: str = ""
    body: Body = None
    multipart: bool = False
    success: int = 200
    parent: str | None = None
    needs: tuple[tuple[str, str], ...] = ()
    expect: Expect | None = None
    shows: tuple[str, ...] = ()  # markers a role allowed to read them must see here
    note: str = ""
    app: str = field(default="", compare=False)

    @property
    def web(self) -> bool:
        return bool(self.url)

    @property
    def id(self) -> str:
        where = self.url + ("(" + ",".join(self.args) + ")" if self.args else "")
        return f"{self.method.upper()} {self.path or where}{self.query}" + (
            f" [{self.note}]" if self.note else ""
        )


@dataclass
class World:
    """What the builders made: personas and record ids, shared by every case of a test."""

    users: dict[str, Any]
    ids: dict[str, Any] = field(default_factory=dict)

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            filled = value.format(**self.ids)
            return int(filled) if value.startswith("{") and filled.isdigit() else filled
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


def rights(role: str, kind: str) -> dict[str, bool]:
    return DEFAULT_POLICIES[role][kind][0]


def may(role: str, kind: str, action: str) -> bool:
    return bool(rights(role, kind)[action])


def sees_owners_record(persona: str, role: str, kind: str) -> bool:
    """Whether ``persona`` may see a record of ``kind`` that bob owns."""
    visibility = DEFAULT_POLICIES[role][kind][1]
    if not may(role, kind, "view") or visibility == Visibility.NONE:
        return False
    if visibility == Visibility.ALL:
        return True
    if visibility == Visibility.TEAM:
        return persona in OWNER_TEAM
    return persona == OWNER


def hidden_from(role: str, kind: str, name: str) -> bool:
    if name == f"custom.{SALARY_FIELD}":
        return role != Role.ADMIN and role not in HIDDEN_FIELD_ROLES
    return name in DEFAULT_POLICIES[role][kind][2]


def expected_status(case: Case, persona: str, role: str) -> int:
    if case.expect is not None:
        return case.expect(persona, role)
    if case.parent is not None:
        if not may(role, case.parent, "view"):
            return 403
        if not sees_owners_record(persona, role, case.parent):
            return 404
    if all(may(role, kind, action) for kind, action in case.needs):
        return case.success
    return 403


@dataclass
class App:
    name: str
    build: Callable[[World], None]
    cases: list[Case]
    depends: tuple[str, ...] = ()


def discover() -> dict[str, App]:
    """Every ``permission_cases`` module under ``rapport``: its builder and its cases."""
    import rapport

    apps: dict[str, App] = {}
    root = Path(rapport.__file__).parent
    for path in sorted(root.rglob("tests/permission_cases.py")):
        dotted = ".".join(("rapport", *path.relative_to(root).with_suffix("").parts))
        module = importlib.import_module(dotted)
        name = getattr(module, "APP", dotted.split(".")[1])
        # Each case is stamped with its app, so its test builds only that app's world.
        cases = [replace(c, app=name) for c in module.CASES]
        apps[name] = App(
            name=name,
            build=module.build,
            cases=cases,
            depends=tuple(getattr(module, "DEPENDS", ())),
        )
    return apps


def build_order(apps: dict[str, App], name: str) -> list[App]:
    order: list[App] = []

    def visit(n: str) -> None:
        for dep in apps[n].depends:
            visit(dep)
        if apps[n] not in order:
            order.append(apps[n])

    visit(name)
    return order
