"""Every API operation and every page, for every role: the permission harness.

Cases come from each app's ``tests/permission_cases.py``; expectations from the role
policies (``rapport.core.testing.permissions``). One test per case: the world is built
once, then each persona's call runs inside a savepoint that is rolled back, so a delete
by one persona does not change what the next one meets.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from rapport.audit.services import Actor
from rapport.core.testing.permissions import (
    ANONYMOUS,
    HIDDEN,
    PLAYERS,
    Case,
    World,
    build_order,
    discover,
    expected_status,
    hidden_from,
    sees_owners_record,
)
from rapport.users.services import token_create

APPS = discover()
CASES = [case for app in APPS.values() for case in app.cases]

# Served but not in the harness, each for a reason: nothing here is behind a role.
EXEMPT_API = {
    ("get", "/openapi.json"),  # the published schema
    ("get", "/docs"),  # Swagger UI
    ("get", "/"),  # ninja's root under /api/v1/, no data
    # Authenticated by the integration's own token in the URL or header, not a user's
    # session or bearer token; its tests are rapport/ingest/tests/test_inbound.py.
    ("post", "/inbound/mail"),
    # A public web form's posts: no user, a per-form token, the same answer whatever
    # happens; its tests are rapport/sales/tests/test_api.py.
    ("post", "/lead-forms/submit"),
}
EXEMPT_WEB = {
    None,  # the root redirect to the contact list
    "users:login",  # the way in
    "users:logout",  # the way out; any session, or none, may leave
    # A public form on the company's site (no login, a secret token in its address); its
    # tests are rapport/service/tests/test_web_form.py.
    "service:web-form",
    # The person's own pages, from a signed link in a message, no login (and the provider's
    # webhook, by its shared secret): rapport/consent/tests/test_public_pages.py.
    "consent:unsubscribe",
    "consent:confirm",
    "consent:preferences",
    "consent:bounce-webhook",
    # What a campaign message carries, no login: the open pixel and the signed click
    # redirect (rapport/marketing/tests/test_tracking.py).
    "marketing:open",
    "marketing:click",
    "surveys:answer",  # a survey invitation's signed link: rapport/surveys/tests/test_answer_page.py
    # The installable app's shell, fetched by the browser on its own and cached by the
    # service worker: no data, the same for everyone (rapport/followups/tests/test_pwa.py).
    "followups:manifest",
    "followups:service-worker",
    "followups:offline",
}


def _body_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _call(client: Client, case: Case, world: World) -> Any:
    body = case.body(world) if callable(case.body) else world.fill(case.body)
    if case.web:
        url = reverse(
            case.url, args=[world.fill("{" + a + "}") if a in world.ids else a for a in case.args]
        )
        return getattr(client, case.method)(
            url + world.fill(case.query), **({"data": body} if body else {})
        )
    url = "/api/v1" + world.fill(case.path) + world.fill(case.query)
    if body is None:
        return getattr(client, case.method)(url)
    if case.multipart:
        return getattr(client, case.method)(url, data=body)
    return getattr(client, case.method)(url, data=body, content_type="application/json")


def _clients(users: dict[str, Any], web: bool) -> dict[str, Client]:
    clients = {}
    for name in PLAYERS:
        if web:
            client = Client()
            client.force_login(users[name])
        else:
            _, secret = token_create(
                actor=Actor(user=None, via="system"), user=users[name], name="harness"
            )
            client = Client(headers={"Authorization": f"Bearer {secret}"})
        clients[name] = client
    clients[ANONYMOUS] = Client()
    return clients


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_permissions(personas, case: Case):
    world = World(users=personas)
    for app in build_order(APPS, case.app):
        app.build(world)
    clients = _clients(personas, case.web)
    wrong = []
    for persona, client in clients.items():
        with transaction.atomic():
            response = _call(client, case, world)
            body = _body_of(response)
            transaction.set_rollback(True)
        if persona == ANONYMOUS:
            want: int | str = "login" if case.web else 401
            got: int | str = response.status_code
            if case.web and got == 302 and response["Location"].startswith(reverse("users:login")):
                got = "login"
            if got != want:
                wrong.append(f"anonymous: {got}, want {want}")
            continue
        role = PLAYERS[persona]
        want = expected_status(case, persona, role)
        if response.status_code != want:
            wrong.append(f"{persona} ({role}): {response.status_code}, want {want}: {body[:200]!r}")
            continue
        if not case.web and want >= 400 and response["Content-Type"] != "application/problem+json":
            wrong.append(f"{persona}: {want} is not problem+json")
        for kind, name, marker in HIDDEN:
            shown = marker.encode() in body
            if hidden_from(role, kind, name) and shown:
                wrong.append(f"{persona} ({role}) sees hidden {kind} {name}")
            if (
                want < 300
                and marker in case.shows
                and sees_owners_record(persona, role, kind)
                and not hidden_from(role, kind, name)
                and not shown
            ):
                wrong.append(f"{persona} ({role}) does not see {kind} {name}, which it may")
    assert not wrong, "\n".join(wrong)


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def served_operations() -> set[tuple[str, str]]:
    from django.conf import settings

    del settings  # imported for its side effect of configuring Django before the router
    from rapport.urls import api

    schema = api.get_openapi_schema()
    prefix = "/api/v1"
    return {
        (method, _template(path[len(prefix) :]))
        for path, ops in schema["paths"].items()
        for method in ops
    }


def served_views() -> set[str | None]:
    def walk(patterns: list[Any], namespace: str | None) -> Any:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace in ("api", "admin"):
                    continue
                yield from walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern):
                yield f"{namespace}:{p.name}" if p.name else None

    return set(walk(get_resolver().url_patterns, None))


def test_every_api_operation_is_in_the_harness():
    registered = {(c.method, _template(c.path)) for c in CASES if not c.web}
    missing = served_operations() - registered - EXEMPT_API
    assert not missing, f"API operations with no case in any permission_cases.py: {sorted(missing)}"
    stale = registered - served_operations()
    assert not stale, f"cases for operations that are not served: {sorted(stale)}"


def test_every_page_is_in_the_harness():
    registered = {c.url for c in CASES if c.web}
    missing = served_views() - registered - EXEMPT_WEB
    assert not missing, f"pages with no case in any permission_cases.py: {sorted(missing, key=str)}"
    stale = registered - served_views()
    assert not stale, f"cases for pages that are not served: {sorted(stale)}"


def test_every_api_route_is_an_operation_or_exempt():
    # The schema lists operations; the router also serves its own pages. Those must be
    # exactly the exempt ones, so nothing reaches /api/v1/ around the harness.
    (api,) = [p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "api"]
    routes = {_template("/" + re.sub(r"<[^>]+>", "{}", str(p.pattern))) for p in api.url_patterns}
    operations = {path for _, path in served_operations()}
    assert routes - operations == {path for _, path in EXEMPT_API} - operations


def test_the_harness_meets_another_team_as_not_found():
    # carl's 404s are the point of the team persona: the harness must contain some.
    from rapport.users.models import Role

    carl = [c for c in CASES if expected_status(c, "carl", Role.SALES) == 404]
    assert len(carl) >= 20


def test_a_page_or_operation_left_out_is_reported():
    # The completeness checks compare against what is served: drop one case of each and
    # it must show up as missing.
    api_case = next(c for c in CASES if not c.web)
    registered = {(c.method, _template(c.path)) for c in CASES if not c.web and c != api_case}
    assert (api_case.method, _template(api_case.path)) in served_operations() - registered
    page_case = next(c for c in CASES if c.web)
    assert page_case.url in served_views() - {
        c.url for c in CASES if c.web and c.url != page_case.url
    }


def test_expectations_follow_the_policies(monkeypatch):
    from rapport.users.models import RecordKind, Role, Visibility
    from rapport.users.permissions import DEFAULT_POLICIES

    case = next(c for c in CASES if c.method == "get" and c.path == "/contacts/{contact}")
    assert expected_status(case, "carl", Role.SALES) == 404
    rights, _, hidden, readonly = DEFAULT_POLICIES[Role.SALES][RecordKind.CONTACT]
    monkeypatch.setitem(
        DEFAULT_POLICIES[Role.SALES], RecordKind.CONTACT, (rights, Visibility.ALL, hidden, readonly)
    )
    assert expected_status(case, "carl", Role.SALES) == 200
    monkeypatch.setitem(
        DEFAULT_POLICIES[Role.SALES],
        RecordKind.CONTACT,
        ({**rights, "view": False}, Visibility.ALL, hidden, readonly),
    )
    assert expected_status(case, "bob", Role.SALES) == 403
