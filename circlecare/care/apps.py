from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "circlecare.care"
    label = "care"
    verbose_name = "Care"
