from django.apps import AppConfig
from django.core import checks


class CoreConfig(AppConfig):
    name = "rapport.core"
    label = "core"

    def ready(self) -> None:
        from rapport.core.privacy import check_privacy_registry

        checks.register(check_privacy_registry)
