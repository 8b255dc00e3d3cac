"""The signed-in user's own pages and API, for the permission harness
(``rapport.core.testing.permissions``): everyone has them, about themselves only."""

from __future__ import annotations

from rapport.audit.services import Actor
from rapport.core.testing.permissions import OWNER, Case, World
from rapport.users.models import Role
from rapport.users.services import token_create


def build(world: World) -> None:
    token, _ = token_create(
        actor=Actor(user=None, via="system"), user=world.users[OWNER], name="laptop"
    )
    world.ids["token"] = token.pk


def _own(success: int):
    # A token is its user's, and the admins' to revoke; anyone else is told it does not exist.
    return lambda persona, role: success if persona == OWNER or role == Role.ADMIN else 404


CASES: list[Case] = [
    Case("get", "/me"),
    Case("get", url="users:tokens"),
    Case("post", url="users:token-revoke", args=("token",), expect=_own(302)),
]
