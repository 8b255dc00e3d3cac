from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "rapport.ingest"
    label = "ingest"

    def ready(self) -> None:
        from rapport.ingest import merge

        merge.register_all()
