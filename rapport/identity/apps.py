from typing import Any

from django.apps import AppConfig
from django.core import checks


class IdentityConfig(AppConfig):
    name = "rapport.identity"
    label = "identity"

    def ready(self) -> None:
        from rapport.identity import privacy

        privacy.register_all()
        checks.register(check_merge_registry)


def check_merge_registry(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every foreign key to a contact or an account must say how it moves on a merge."""
    from rapport.identity.registry import REGISTRY

    return [
        checks.Error(
            f"{name} points at a customer record but is not in the merge registry.",
            hint="Register a Relation (or Derived) for it in rapport.identity.registry.",
            id="identity.E001",
        )
        for name in REGISTRY.unregistered()
    ]
