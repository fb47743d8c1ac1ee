from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "protocols"
    verbose_name = "Protocols (the response plan)"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from protocols.sign_in import on_user_logged_in

        user_logged_in.connect(on_user_logged_in, dispatch_uid="firebreak-session-start")

        from protocols import audit_receivers

        audit_receivers.connect()
