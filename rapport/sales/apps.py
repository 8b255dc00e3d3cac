from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"

    def ready(self) -> None:
        from rapport.core import demo as core_demo
        from rapport.core import panels
        from rapport.core import privacy as core_privacy
        from rapport.sales import demo, events, merge, privacy, selectors, views
        from rapport.timeline.events import register_open_items
        from rapport.users import permissions
        from rapport.users.models import RecordKind

        events.register()
        merge.register_all()
        core_privacy.register(
            "sales",
            export=privacy.sales_export,
            erase=privacy.sales_erase,
            models=("sales.Lead", "sales.DealRole", "sales.Deal"),
        )
        register_open_items(selectors.open_deals)
        from rapport.sales import imports as sales_imports

        sales_imports.register()  # deals and leads from CSV/XLSX files (ingest.imports.kinds)
        from rapport.ingest.mail import learners
        from rapport.sales import mail as sales_mail

        learners.register(now=sales_mail.from_mail, later=sales_mail.from_entries)  # mail to sales@

        def sees_deals(user: object) -> bool:
            return permissions.can(user, "view", RecordKind.DEAL)

        for kind, url_name in (
            ("contact", "sales:contact-deals"),
            ("account", "sales:account-deals"),
        ):
            panels.register(
                panels.Panel(
                    name="deals",
                    kind=kind,
                    title="Deals",
                    url_name=url_name,
                    visible=sees_deals,
                    order=20,
                )
            )
        core_demo.register(core_demo.Part("sales", load=demo.sales_demo_load, order=20))
        try:
            from rapport.followups import myday
        except ImportError:  # the followups app's "My day" is not there yet
            return
        myday.register_section(
            myday.Section(
                name="deals-closing",
                title="Deals closing this month",
                order=30,
                items=views.closing_this_month,
            )
        )
