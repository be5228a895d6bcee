from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "circlecare.audit"
    label = "audit"
    verbose_name = "Audit"
