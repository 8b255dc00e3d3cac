from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "rapport.customers"
    label = "customers"

    def ready(self) -> None:
        from rapport.customers import merge, privacy

        merge.register_all()
        privacy.register_all()
