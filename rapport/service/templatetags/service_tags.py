"""Template helpers other apps' pages use for service (the caller screen's "New case")."""

from typing import Any

from django import template

from rapport.users import permissions
from rapport.users.models import RecordKind

register = template.Library()


@register.filter
def may_open_cases(user: Any) -> bool:
    """Whether the user may open a case (the caller screen shows "New case" only then)."""
    return permissions.can(user, "add", RecordKind.CASE)
