from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "rapport.followups"
    label = "followups"

    def ready(self) -> None:
        from rapport.core import demo as core_demo
        from rapport.core import privacy as core_privacy
        from rapport.followups import demo, events, merge, privacy

        events.register()
        merge.register_all()
        core_privacy.register(
            "tasks",
            export=privacy.tasks_export,
            erase=privacy.tasks_erase,
            models=("followups.Task",),
        )
        core_demo.register(core_demo.Part("followups", load=demo.followups_demo_load, order=10))
