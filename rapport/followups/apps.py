from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "rapport.followups"
    label = "followups"

    def ready(self) -> None:
        from rapport.core import demo as core_demo
        from rapport.core import panels
        from rapport.core import privacy as core_privacy
        from rapport.followups import demo, events, merge, privacy, selectors
        from rapport.timeline.events import register_open_items
        from rapport.users import permissions
        from rapport.users.models import RecordKind

        events.register()
        merge.register_all()
        core_privacy.register(
            "tasks",
            export=privacy.tasks_export,
            erase=privacy.tasks_erase,
            models=("followups.Task",),
        )
        register_open_items(selectors.open_items)
        panels.register(
            panels.Panel(
                name="tasks", kind="contact", title="Tasks", url_name="followups:contact-tasks",
                visible=lambda user: permissions.can(user, "view", RecordKind.TASK), order=15,
            )
        )  # fmt: skip
        core_demo.register(core_demo.Part("followups", load=demo.followups_demo_load, order=10))
