from django.urls import path

from circlecare.meetings import views

app_name = "meetings"

urlpatterns = [
    path("", views.my_meetings, name="mine"),
    path("calendar/", views.calendar_feed, name="calendar"),
    path("calendar/<str:token>.ics", views.feed, name="feed"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/meeting.ics", views.download_ics, name="ics"),
    path("<int:pk>/join/", views.join, name="join"),
    path("<int:pk>/room/", views.room, name="room"),
    path("<int:pk>/attendance/", views.attendance, name="attendance"),
    path("<int:pk>/skip/", views.skip, name="skip"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/move/", views.move, name="move"),
    path("groups/", views.groups, name="groups"),
    path("group/<int:pk>/", views.cohort_schedule, name="schedule"),
    path("group/<int:pk>/open/", views.open_cohort, name="open"),
    path("group/<int:pk>/pattern/", views.change_pattern, name="pattern"),
]
