from django.apps import AppConfig


class InquiriesConfig(AppConfig):
    name = "circlecare.inquiries"
    label = "inquiries"
    verbose_name = "Inquiries"
