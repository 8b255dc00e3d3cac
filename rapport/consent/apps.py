from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "rapport.consent"
    label = "consent"

    def ready(self) -> None:
        # Registrations (timeline kinds, merge relations, open items, privacy handlers) go here.
        pass
