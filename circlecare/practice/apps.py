from django.apps import AppConfig


class PracticeConfig(AppConfig):
    name = "circlecare.practice"
    label = "practice"
    verbose_name = "Practice"
