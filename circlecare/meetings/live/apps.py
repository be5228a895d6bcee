from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "circlecare.meetings.live"
    label = "live"
    verbose_name = "Live meeting rooms"
