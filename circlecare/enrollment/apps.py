from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "circlecare.enrollment"
    label = "enrollment"
    verbose_name = "Enrollment"

    def ready(self) -> None:
        from circlecare.enrollment import join_steps, steps

        steps.register("eligibility", join_steps.eligibility_step, order=10)
        steps.register("consents", join_steps.consents_step, order=20)
