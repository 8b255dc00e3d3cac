from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "rapport.consent"
    label = "consent"

    def ready(self) -> None:
        from rapport.consent import events, merge, privacy

        events.register()
        merge.register_all()
        privacy.register_all()
