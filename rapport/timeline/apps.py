from django.apps import AppConfig
from django.core import checks


class TimelineConfig(AppConfig):
    name = "rapport.timeline"
    label = "timeline"

    def ready(self) -> None:
        from rapport.timeline import events, merge, privacy
        from rapport.timeline.checks import check_timeline_kinds

        events.register_builtin_kinds()
        merge.register_all()
        privacy.register_all()
        checks.register(check_timeline_kinds)
