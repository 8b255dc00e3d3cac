from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "rapport.followups"
    label = "followups"

    def ready(self) -> None:
        # Registrations (timeline kinds, merge relations, open items, privacy handlers) go here.
        pass
