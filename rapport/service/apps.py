from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "rapport.service"
    label = "service"

    def ready(self) -> None:
        from rapport.core import demo, panels, privacy
        from rapport.ingest.mail import learners
        from rapport.service import events, mail, merge, myday, open_items, tasks
        from rapport.service import privacy as service_privacy
        from rapport.service.demo import service_demo_load
        from rapport.timeline.events import register_open_items
        from rapport.users import permissions
        from rapport.users.models import RecordKind

        events.register()
        merge.register_all()
        register_open_items(open_items.open_cases)
        # Mail to a service address opens or threads a case, after mail stored it.
        learners.register(
            now=mail.from_mail, later=tasks.queue_cases_from_entries, many=mail.from_mail_many
        )
        privacy.register(
            "service",
            export=service_privacy.service_export,
            erase=service_privacy.service_erase,
            models=("service.Case", "service.CaseMessage"),
        )

        def may_see_cases(user: object) -> bool:
            return permissions.can(user, "view", RecordKind.CASE)

        for kind in ("contact", "account"):
            panels.register(
                panels.Panel(
                    name="cases",
                    kind=kind,
                    title="Cases",
                    url_name=f"service:{kind}-cases",
                    visible=may_see_cases,
                    order=30,
                )
            )
        demo.register(demo.Part("service", load=service_demo_load, order=30))
        myday.register()
