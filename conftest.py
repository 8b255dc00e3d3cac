"""Test personas and shared fixtures.

alice is an admin; bob and brenda are sales reps in the North team, carl a sales rep in
the South team; mia is in marketing, sam in service, stella a data steward, rita read-only
and mo a manager. charlie is inactive.
"""

from __future__ import annotations

import pytest

from rapport.audit.services import Actor
from rapport.users.models import Role, Team, User

PERSONAS = {
    "alice": Role.ADMIN,
    "mo": Role.MANAGER,
    "bob": Role.SALES,
    "brenda": Role.SALES,
    "carl": Role.SALES,
    "mia": Role.MARKETING,
    "sam": Role.SERVICE,
    "stella": Role.STEWARD,
    "rita": Role.READONLY,
}
ROLE_PERSONA = {
    Role.ADMIN: "alice",
    Role.MANAGER: "mo",
    Role.SALES: "bob",
    Role.MARKETING: "mia",
    Role.SERVICE: "sam",
    Role.STEWARD: "stella",
    Role.READONLY: "rita",
}


@pytest.fixture
def personas(db) -> dict[str, User]:
    north = Team.objects.create(name="North")
    south = Team.objects.create(name="South")
    users = {}
    for name, role in PERSONAS.items():
        user = User.objects.create_user(
            username=name, password=f"{name}-password-1", role=role, email=f"{name}@example.org"
        )
        users[name] = user
    users["bob"].teams.add(north)
    users["brenda"].teams.add(north)
    users["carl"].teams.add(south)
    users["charlie"] = User.objects.create_user(
        username="charlie", password="charlie-password-1", role=Role.SALES, is_active=False
    )
    return users


@pytest.fixture
def alice(personas) -> User:
    return personas["alice"]


@pytest.fixture
def bob(personas) -> User:
    return personas["bob"]


@pytest.fixture
def system() -> Actor:
    return Actor(user=None, via="system")


def actor(user: User, via: str = "web") -> Actor:
    return Actor(user=user, via=via)


@pytest.fixture
def api_client(personas):
    """``api_client("bob")``: a test client that sends bob's fresh bearer token."""
    from django.test import Client

    from rapport.users.services import token_create

    def make(name: str) -> Client:
        _, secret = token_create(
            actor=Actor(user=None, via="system"), user=personas[name], name="tests"
        )
        return Client(headers={"Authorization": f"Bearer {secret}"})

    return make
