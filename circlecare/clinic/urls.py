from django.urls import path

from circlecare.clinic import views

app_name = "clinic"

urlpatterns = [
    path("", views.home, name="home"),
    path("meetings/<int:pk>/notes/", views.meeting_notes, name="notes"),
    path("meetings/<int:pk>/notes/group/", views.save_group, name="save_group"),
    path("meetings/<int:pk>/notes/individual/", views.start_individual, name="start_individual"),
    path("notes/<slug:kind>/<int:pk>/", views.note_version, name="note"),
    path("notes/individual/<int:pk>/save/", views.save_individual, name="save_individual"),
    path("notes/<slug:kind>/<int:pk>/sign/", views.sign, name="sign"),
    path("notes/<slug:kind>/<int:pk>/amend/", views.amend, name="amend"),
]
