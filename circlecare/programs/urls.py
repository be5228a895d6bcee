from django.urls import path

from circlecare.programs import views

app_name = "programs"

urlpatterns = [
    path("", views.program_list, name="list"),
    path("<slug:slug>/", views.program_detail, name="detail"),
    path("group/<int:pk>/", views.cohort_detail, name="cohort"),
]
