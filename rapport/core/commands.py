"""What the management commands share."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from rapport.core.actor import Actor


def command_actor(username: str | None, *, via: str, context: dict[str, Any]) -> Actor:
    """The actor a command works as: the active user ``--user`` names (their rights, named
    in the history), or the system when no user is given."""
    user = None
    if username:
        # The user model through Django, so core knows no app above it (AUTH_USER_MODEL).
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
    return Actor(user=user, via=via, context=context)
