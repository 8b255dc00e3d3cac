from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "rapport.consent"
    label = "consent"

    def ready(self) -> None:
        from rapport.consent import events, merge, privacy
        from rapport.consent.demo import consent_demo_load
        from rapport.core import demo, panels
        from rapport.users import permissions
        from rapport.users.models import RecordKind

        events.register()
        merge.register_all()
        privacy.register_all()
        panels.register(
            panels.Panel(
                name="consent",
                kind="contact",
                title="Consent",
                url_name="consent:contact-panel",
                visible=lambda user: permissions.can(user, "view", RecordKind.CONSENT),
                order=40,
            )
        )
        demo.register(demo.Part("consent", load=consent_demo_load, order=40))
