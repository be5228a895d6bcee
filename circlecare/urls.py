from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path

from circlecare.accounts import views as account_views
from circlecare.admin_lookups import refuse_unusable_lookups
from circlecare.api import api, not_found
from circlecare.programs import views as program_views

# The admin signs in through the same login as everyone else: rate limits and the second factor apply.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
# Set before ``admin.site.urls`` below builds the admin's views.
refuse_unusable_lookups(admin.site)
admin.site.site_header = "circlecare coordination"
admin.site.site_title = "circlecare"

urlpatterns = [
    path("", program_views.home, name="home"),
    path("groups/", include("circlecare.programs.urls")),
    path("contact/", include("circlecare.inquiries.urls")),
    path("my/", include("circlecare.enrollment.urls")),
    path("meetings/", include("circlecare.meetings.urls")),
    path("measures/", include("circlecare.measures.urls")),
    path("care/", include("circlecare.care.urls")),
    path("clinic/", include("circlecare.clinic.urls")),
    path("accounts/profile/", account_views.profile, name="profile"),
    path("accounts/profile/tokens/", account_views.tokens, name="tokens"),
    path("accounts/profile/data/", account_views.my_data, name="my_data"),
    path("accounts/profile/delete/", account_views.delete, name="delete_account"),
    path("accounts/profile/tokens/<int:pk>/revoke/", account_views.revoke, name="token_revoke"),
    path("accounts/signup/", account_views.signup, name="account_signup"),
    # Listed in circlecare.accounts.security.QUIET_PATHS: asking is not activity.
    path("accounts/session-status/", account_views.session_status, name="session_status"),
    path("accounts/", include("allauth.urls")),
    path("health/", account_views.health, name="health"),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<path>.*)$", not_found),  # in the API's error shape, not the site's page
    path("admin/", admin.site.urls),
]
