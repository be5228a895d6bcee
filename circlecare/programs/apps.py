from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "circlecare.programs"
    label = "programs"
    verbose_name = "Programs"
