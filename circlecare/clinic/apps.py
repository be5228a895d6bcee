from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "circlecare.clinic"
    label = "clinic"
    verbose_name = "Clinic"
