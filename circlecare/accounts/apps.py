from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "circlecare.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from circlecare.accounts import signals  # noqa: F401
