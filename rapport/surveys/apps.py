from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "rapport.surveys"
    label = "surveys"

    def ready(self) -> None:
        from rapport.core import demo, panels, touchpoints
        from rapport.surveys import events, merge, privacy
        from rapport.surveys.demo import surveys_demo_load
        from rapport.surveys.listeners import touchpoint_heard
        from rapport.users import permissions
        from rapport.users.models import RecordKind

        events.register()
        merge.register_all()
        privacy.register_all()
        touchpoints.register_listener(touchpoint_heard)
        panels.register(
            panels.Panel(
                name="surveys",
                kind="contact",
                title="Surveys",
                url_name="surveys:contact-panel",
                visible=lambda user: permissions.can(user, "view", RecordKind.SURVEY),
                order=60,
            )
        )
        demo.register(demo.Part("surveys", load=surveys_demo_load, order=60))
