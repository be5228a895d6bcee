from django.urls import path

from circlecare.measures import views

app_name = "measures"

urlpatterns = [
    path("", views.due, name="due"),
    path("support/", views.support, name="support"),
    path("progress/", views.progress, name="progress"),
    path("progress/fhir/", views.my_fhir, name="my_fhir"),
    path("questionnaire/<int:pk>/", views.take, name="take"),
    path("intake/<int:cohort_pk>/", views.intake, name="intake"),
    path("groups/", views.clinician_home, name="clinician_home"),
    path("groups/<int:cohort_pk>/", views.cohort_overview, name="cohort"),
    path("groups/<int:cohort_pk>/members/<int:member_pk>/", views.member_chart, name="member"),
    path(
        "groups/<int:cohort_pk>/members/<int:member_pk>/fhir/",
        views.member_fhir,
        name="member_fhir",
    ),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/", views.alert, name="alert"),
    path("reports/", views.report, name="report"),
    path("reports/export.csv", views.report_export, name="report_csv"),
]
