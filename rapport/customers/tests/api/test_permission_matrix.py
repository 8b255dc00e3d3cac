"""Every role against every endpoint. Expected outcomes come from DEFAULT_POLICIES (which
the migrations seed), not from a table written by hand: a policy change moves the tests.

The records belong to bob (sales, North). carl (sales, South) is in the matrix too: his
role may act on contacts, but not on records his team does not own, which he must not
learn exist (404).
"""

from __future__ import annotations

from typing import Any

import pytest

from rapport.customers import services
from rapport.customers.models import DataField
from rapport.customers.tests.factories import SYSTEM, make_account, make_contact
from rapport.users.models import Role, Visibility
from rapport.users.permissions import DEFAULT_POLICIES

# role -> the persona who plays it; the owner's team mate for team-scoped roles.
PLAYERS = [
    ("alice", Role.ADMIN),
    ("mo", Role.MANAGER),
    ("bob", Role.SALES),
    ("mia", Role.MARKETING),
    ("sam", Role.SERVICE),
    ("stella", Role.STEWARD),
    ("rita", Role.READONLY),
    ("carl", Role.SALES),  # another team
]
OWNER_TEAM = {"bob", "brenda"}
assert {role for _, role in PLAYERS} == set(Role.values)

C, A = "contact", "account"
V = "view"
# (method, path, body, success status, parent (kind) that must be visible or None, [(kind, action)] needed)
ENDPOINTS: list[tuple[Any, ...]] = [
    ("get", "/contacts", None, 200, None, [(C, V)]),
    ("post", "/contacts", {"full_name": "New Person"}, 201, None, [(C, "add")]),
    ("get", "/contacts/{contact}", None, 200, C, [(C, V)]),
    ("patch", "/contacts/{contact}", {"job_title": "Boss"}, 200, C, [(C, V), (C, "change")]),
    ("delete", "/contacts/{contact}", None, 204, C, [(C, V), (C, "delete")]),
    ("get", "/contacts/{contact}/history", None, 200, C, [(C, V), ("audit", V)]),
    ("get", "/accounts", None, 200, None, [(A, V)]),
    ("post", "/accounts", {"name": "NewCo"}, 201, None, [(A, "add")]),
    ("get", "/accounts/{account}", None, 200, A, [(A, V)]),
    ("patch", "/accounts/{account}", {"industry": "Oil"}, 200, A, [(A, V), (A, "change")]),
    ("delete", "/accounts/{account}", None, 204, A, [(A, V), (A, "delete")]),
    ("get", "/accounts/{account}/history", None, 200, A, [(A, V), ("audit", V)]),
    ("get", "/accounts/{account}/people", None, 200, A, [(A, V)]),
    ("get", "/datafields", None, 200, None, [("datafield", V)]),
    (
        "post",
        "/datafields",
        {"entity": "contact", "label": "Hobby", "type": "text"},
        201,
        None,
        [("datafield", "add")],
    ),
    ("get", "/datafields/{datafield}", None, 200, None, [("datafield", V)]),
    (
        "patch",
        "/datafields/{datafield}",
        {"label": "Tier!"},
        200,
        None,
        [("datafield", V), ("datafield", "change")],
    ),
    (
        "delete",
        "/datafields/{datafield}",
        None,
        204,
        None,
        [("datafield", V), ("datafield", "change")],
    ),
    ("get", "/search?q=Nora", None, 200, None, []),
    ("get", "/me", None, 200, None, []),
]
PART_BODIES = {
    (C, "emails"): ({"email": "new@example.com"}, {"kind": "home"}),
    (C, "phones"): ({"number": "+44 20 7946 0999"}, {"kind": "mobile"}),
    (C, "addresses"): ({"country": "GB"}, {"city": "York"}),
    (C, "memberships"): ({"account": "{other_account}"}, {"rank": 3}),
    (C, "external-ids"): ({"source": "crm", "external_id": "new"}, None),
    (A, "domains"): ({"domain": "new.example"}, None),
    (A, "addresses"): ({"country": "GB"}, {"city": "York"}),
    (A, "external-ids"): ({"source": "crm", "external_id": "new"}, None),
}
for (kind, segment), (create, patch) in PART_BODIES.items():
    base = f"/{kind}s/{{{kind}}}/{segment}"
    item = f"{base}/{{{kind}_{segment}}}"
    ENDPOINTS += [
        ("get", base, None, 200, kind, [(kind, V)]),
        ("post", base, create, 201, kind, [(kind, V), (kind, "change")]),
        ("get", item, None, 200, kind, [(kind, V)]),
        ("delete", item, None, 204, kind, [(kind, V), (kind, "change")]),
    ]
    if patch is not None:
        ENDPOINTS.append(("patch", item, patch, 200, kind, [(kind, V), (kind, "change")]))


def expected_status(persona: str, role: str, parent: str | None, needs, success: int) -> int:
    policies = DEFAULT_POLICIES[role]
    rights = {kind: policies[kind][0] for kind in policies}
    if parent is not None:
        if not rights[parent][V]:
            return 403
        visibility = policies[parent][1]
        if visibility != Visibility.ALL and persona not in OWNER_TEAM:
            return 404
    if all(rights[kind][action] for kind, action in needs):
        return success
    return 403


@pytest.fixture
def world(personas):
    bob = personas["bob"]
    account = make_account(owner=bob, name="Northwind", domains=["northwind.example"])
    other_account = make_account(owner=bob, name="Other")
    contact = make_contact(
        owner=bob, full_name="Nora North", phones=["+44 20 7946 0018"], account=account
    )
    services.part_add(actor=SYSTEM, parent=account, part="addresses", data={"country": "GB"})
    services.part_add(
        actor=SYSTEM,
        parent=account,
        part="external_ids",
        data={"source": "erp", "external_id": "A1"},
    )
    services.part_add(actor=SYSTEM, parent=contact, part="addresses", data={"country": "FR"})
    services.part_add(
        actor=SYSTEM,
        parent=contact,
        part="external_ids",
        data={"source": "erp", "external_id": "C1"},
    )
    datafield = DataField.objects.create(entity="contact", key="tier", label="Tier", type="text")
    ids = {
        "contact": contact.pk,
        "account": account.pk,
        "other_account": other_account.pk,
        "datafield": datafield.pk,
    }
    for segment, related in (
        ("emails", "emails"),
        ("phones", "phones"),
        ("addresses", "addresses"),
        ("memberships", "memberships"),
        ("external-ids", "external_ids"),
    ):
        ids[f"contact_{segment}"] = getattr(contact, related).get().pk
    for segment, related in (
        ("domains", "domains"),
        ("addresses", "addresses"),
        ("external-ids", "external_ids"),
    ):
        ids[f"account_{segment}"] = getattr(account, related).get().pk
    return ids


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("persona", "role"), PLAYERS, ids=[f"{p}-{r}" for p, r in PLAYERS])
@pytest.mark.parametrize(
    ("method", "path", "body", "success", "parent", "needs"),
    ENDPOINTS,
    ids=[f"{m.upper()} {p}" for m, p, *_ in ENDPOINTS],
)
def test_permission_matrix(
    api_client, world, persona, role, method, path, body, success, parent, needs
):
    client = api_client(persona)
    url = "/api/v1" + _fill(path, world)
    kwargs = (
        {"data": _fill(body, world), "content_type": "application/json"} if body is not None else {}
    )
    response = getattr(client, method)(url, **kwargs)
    want = expected_status(persona, role, parent, needs, success)
    assert response.status_code == want, (persona, method, url, response.content[:300])
    if want >= 400:
        assert response["Content-Type"] == "application/problem+json"
