from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "circlecare.measures"
    label = "measures"
    verbose_name = "Measures"

    def ready(self) -> None:
        from circlecare.enrollment import steps
        from circlecare.measures.steps import INTAKE_STEP, intake_step

        steps.register(INTAKE_STEP, intake_step, order=30)
