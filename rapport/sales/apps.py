from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"

    def ready(self) -> None:
        from rapport.core import privacy as core_privacy
        from rapport.sales import events, merge, privacy

        events.register()
        merge.register_all()
        core_privacy.register(
            "sales",
            export=privacy.sales_export,
            erase=privacy.sales_erase,
            models=("sales.Lead", "sales.DealRole", "sales.Deal"),
        )
