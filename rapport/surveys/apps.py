from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "rapport.surveys"
    label = "surveys"

    def ready(self) -> None:
        # Registrations (timeline kinds, merge relations, open items, privacy handlers) go here.
        pass
