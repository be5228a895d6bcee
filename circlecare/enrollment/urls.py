from django.urls import path

from circlecare.enrollment import views

app_name = "enrollment"

urlpatterns = [
    path("", views.my_groups, name="my_groups"),
    path("join/<int:cohort_id>/", views.join, name="join"),
    path("join/<int:cohort_id>/agreements/", views.consents, name="consents"),
    path("join/<int:cohort_id>/partner/", views.partner_invite, name="partner_invite"),
    path(
        "partner/invitation/<int:pk>/cancel/",
        views.partner_invite_cancel,
        name="partner_invite_cancel",
    ),
    path("partner/<str:token>/", views.partner_accept, name="partner_accept"),
    path("enrollment/<int:pk>/accept/", views.accept, name="accept"),
    path("enrollment/<int:pk>/decline/", views.decline, name="decline"),
    path("enrollment/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("roster/<int:cohort_id>/", views.roster, name="roster"),
    path("roster/<int:cohort_id>/capacity/", views.capacity, name="capacity"),
    path("roster/enrollment/<int:pk>/remove/", views.remove, name="remove"),
    path("roster/enrollment/<int:pk>/readmit/", views.readmit, name="readmit"),
]
