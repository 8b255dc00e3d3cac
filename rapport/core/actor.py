"""Who is changing data, and through which path: passed to every service.

It lives in core, below every app, because every layer passes it on (core's web and
command helpers build it, audit records it, the apps take it). ``rapport.audit.services``
and ``rapport.audit.models`` still export ``Actor`` and ``Via`` for code written before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models


class Via(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    IMPORT = "import", "Import"
    AUTOMATION = "automation", "Automation"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    """Who is changing data, and through which path. Passed to every service."""

    user: Any  # rapport.users.models.User, or None for system work
    via: str = Via.WEB
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return getattr(self.user, "username", "") or "system"
