from django.urls import path

from circlecare.care import views

app_name = "care"

urlpatterns = [
    path("", views.home, name="home"),
    path("flow/", views.mutuality, name="mutuality"),
    path("nudge/", views.nudge, name="nudge"),
    path("groups/<int:cohort_id>/programme/", views.programme, name="programme"),
    path(
        "groups/<int:cohort_id>/programme/week/<int:number>/",
        views.adapt_week,
        name="adapt_week",
    ),
    path("groups/<int:cohort_id>/board/", views.board, name="board"),
    path("groups/<int:cohort_id>/facilitate/", views.facilitate, name="facilitate"),
    path(
        "groups/<int:cohort_id>/reflections/<int:reflection_id>/",
        views.shared_reflection,
        name="shared_reflection",
    ),
    path("groups/<int:cohort_id>/people/<int:user_id>/block/", views.block, name="block"),
    path("groups/<int:cohort_id>/people/<int:user_id>/unblock/", views.unblock, name="unblock"),
    path("posts/<int:post_id>/", views.post_detail, name="post"),
    path("posts/<int:post_id>/respond/", views.respond, name="respond"),
    path("posts/<int:post_id>/close/", views.close_post, name="close_post"),
    path("posts/<int:post_id>/hide/", views.hide_post, name="hide_post"),
    path("posts/<int:post_id>/unhide/", views.unhide_post, name="unhide_post"),
    path("posts/<int:post_id>/report/", views.report_post, name="report_post"),
    path("reports/<int:report_id>/resolve/", views.resolve_report, name="resolve_report"),
    path("matches/<int:match_id>/done/", views.match_done, name="match_done"),
    path("matches/<int:match_id>/cancel/", views.match_cancel, name="match_cancel"),
    path("matches/<int:match_id>/thanks/", views.match_thanks, name="match_thanks"),
    path("journal/", views.journal, name="journal"),
    path("journal/export/", views.journal_export, name="journal_export"),
    path("journal/export.json", views.journal_export_json, name="journal_export_json"),
    path("journal/<int:reflection_id>/", views.journal_entry, name="journal_entry"),
    path("journal/<int:reflection_id>/delete/", views.journal_delete, name="journal_delete"),
]
