from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "rapport.ingest"
    label = "ingest"

    def ready(self) -> None:
        from rapport.ingest.proposals import merge, open_items
        from rapport.timeline.events import register_open_items

        merge.register_all()
        register_open_items(open_items.pending_facts)
