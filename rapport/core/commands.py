"""What the management commands share."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from rapport.audit.services import Actor


def command_actor(username: str | None, *, via: str, context: dict[str, Any]) -> Actor:
    """The actor a command works as: the active user ``--user`` names (their rights, named
    in the history), or the system when no user is given."""
    from rapport.users.models import User

    user = None
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
    return Actor(user=user, via=via, context=context)
