from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "circlecare.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from circlecare import checks  # noqa: F401  (registers the project's deploy checks)
        from circlecare.accounts import signals  # noqa: F401
