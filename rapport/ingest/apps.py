from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "rapport.ingest"
    label = "ingest"
