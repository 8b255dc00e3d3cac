from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "rapport.ingest"
    label = "ingest"

    def ready(self) -> None:
        from rapport.ingest import privacy
        from rapport.ingest.capture import events as capture_events
        from rapport.ingest.mail import events as mail_events
        from rapport.ingest.mail import learners
        from rapport.ingest.proposals import merge, open_items
        from rapport.ingest.proposals import services as proposals
        from rapport.ingest.proposals.tasks import queue_learning
        from rapport.timeline.events import register_open_items

        privacy.register_all()
        mail_events.register()
        capture_events.register()
        merge.register_all()
        register_open_items(open_items.pending_facts)
        # Proposals learn from the mail that comes in; mail does not import them.
        learners.register(now=proposals.from_mail, later=queue_learning)
