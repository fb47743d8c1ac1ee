from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "protocols"
    verbose_name = "Protocols (the response plan)"

    def ready(self) -> None:
        from protocols import audit_receivers

        audit_receivers.connect()
