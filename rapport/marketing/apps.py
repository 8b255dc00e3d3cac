from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "rapport.marketing"
    label = "marketing"

    def ready(self) -> None:
        from rapport.core import demo, panels, privacy
        from rapport.ingest.mail import learners
        from rapport.marketing import events, merge, replies
        from rapport.marketing import privacy as marketing_privacy
        from rapport.marketing.demo import marketing_demo_load
        from rapport.users import permissions
        from rapport.users.models import RecordKind

        events.register()
        merge.register_all()
        privacy.register(
            "marketing",
            export=marketing_privacy.marketing_export,
            erase=marketing_privacy.marketing_erase,
            models=(
                "marketing.CampaignRecipient",
                "marketing.SegmentMember",
                "marketing.EventContact",
            ),
        )
        # A reply to a campaign message counts for its variant (its In-Reply-To names it).
        learners.register(now=replies.from_mail, later=replies.from_entries)
        demo.register(demo.Part("marketing", load=marketing_demo_load, order=50))

        def may_see_campaigns(user: object) -> bool:
            return permissions.can(user, "view", RecordKind.CAMPAIGN)

        panels.register(
            panels.Panel(
                name="campaigns",
                kind="contact",
                title="Campaigns",
                url_name="marketing:contact-campaigns",
                visible=may_see_campaigns,
                order=60,
            )  # fmt: skip
        )
