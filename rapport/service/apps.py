from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "rapport.service"
    label = "service"

    def ready(self) -> None:
        # Registrations (timeline kinds, merge relations, open items, privacy handlers) go here.
        pass
