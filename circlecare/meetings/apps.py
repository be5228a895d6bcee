from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "circlecare.meetings"
    label = "meetings"
    verbose_name = "Meetings"
