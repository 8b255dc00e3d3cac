"""The caller's own profile: who they are and what they may do."""

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from rapport.api.common import problems, user_of
from rapport.users import permissions
from rapport.users.models import RecordKind

router = Router()


class MeOut(Schema):
    id: int
    username: str
    name: str
    email: str
    role: str
    teams: list[str]
    permissions: dict[str, list[str]] = Field(description="Actions allowed, by kind of record")


@router.get("/me", response={200: MeOut, **problems()}, url_name="me", tags=["me"])
def me(request: HttpRequest):
    """Who the token or session belongs to, their role and teams, and what they may do."""
    user = user_of(request)
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.get_full_name(),
        "email": user.email,
        "role": permissions.role_of(user),
        "teams": [t.name for t in user.teams.all()],
        "permissions": {
            kind: [a for a in permissions.ACTIONS if permissions.can(user, a, kind)]
            for kind in RecordKind.values
        },
    }
