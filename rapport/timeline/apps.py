from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "rapport.timeline"
    label = "timeline"

    def ready(self) -> None:
        from rapport.timeline import events, merge

        events.register_builtin_kinds()
        merge.register_all()
