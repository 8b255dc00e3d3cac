from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"

    def ready(self) -> None:
        # Registrations (timeline kinds, merge relations, open items, privacy handlers) go here.
        pass
