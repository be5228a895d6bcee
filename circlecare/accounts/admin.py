from __future__ import annotations

from typing import cast

from allauth.account.adapter import get_adapter as account_adapter
from allauth.usersessions.admin import UserSessionAdmin as BaseUserSessionAdmin
from allauth.usersessions.models import UserSession
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from circlecare.accounts.models import User
from circlecare.accounts.services import SignedOutElsewhere, secure_after_password_change
from circlecare.admin_autocomplete import KeyedAutocompleteAdmin


class CreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name")


class ChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(KeyedAutocompleteAdmin, BaseUserAdmin):
    form = ChangeForm
    add_form = CreationForm
    ordering = ("email",)
    list_display = (
        "email",
        "display_name",
        "home_state",
        "is_facilitator",
        "is_staff",
        "is_active",
    )
    list_filter = ("is_staff", "is_facilitator", "is_active", "home_state")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "home_state", "time_zone", "language")}),
        ("Preferences", {"fields": ("email_reminders", "care_nudges", "care_replies")}),
        (
            "Roles",
            {"fields": ("is_active", "is_facilitator", "is_staff", "is_superuser", "groups")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "display_name", "password1", "password2")},
        ),
    )

    @method_decorator(sensitive_post_parameters())
    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Django's own page, followed by what every password change does: the member's other
        ways in end and they are e-mailed. The administrator's own browser is the only one kept,
        and only when it is their own password they changed."""
        member = self.get_object(request, unquote(id))
        before = member.password if member is not None else None
        response = super().user_change_password(request, id, form_url)
        if member is None or request.method != "POST":
            return response
        member.refresh_from_db(fields=["password"])
        if member.password == before:
            # Refused: the form had errors or conflicting data, and nothing was saved.
            return response
        actor = cast(User, request.user)
        themselves = member.pk == actor.pk
        outcome = secure_after_password_change(
            user=member,
            how="admin",
            keep_session_key=request.session.session_key if themselves else None,
            actor=actor,
        )
        messages.info(request, _signed_out_message(member, outcome, themselves=themselves))
        # The member hears of it as they would of a change of their own: if it was not expected,
        # it is how they find out.
        account_adapter(request).send_notification_mail(
            "account/email/password_changed", member, {"by_practice": True}
        )
        return response


def _signed_out_message(member: User, outcome: SignedOutElsewhere, *, themselves: bool) -> str:
    if themselves:
        said = (
            "You're still signed in here, and any other device that was signed in to your "
            "account has been signed out."
        )
    else:
        said = f"{member.email} has been signed out on every device."
    count = outcome.tokens_revoked
    if count:
        owner = "Your" if themselves else "Their"
        tokens = "API token was" if count == 1 else f"{count} API tokens were"
        said += f" {owner} {tokens} revoked too."
    return said


# django-allauth's own admin for signed-in sessions searches ``user__username``, a field this
# project's User does not have: every search of that list was a server error. Search by the
# person's e-mail and name instead.
admin.site.unregister(UserSession)


@admin.register(UserSession)
class UserSessionAdmin(BaseUserSessionAdmin):
    search_fields = ["user__email", "user__display_name", "ip"]


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(KeyedAutocompleteAdmin, BaseGroupAdmin):  # type: ignore[misc]  # stubs' generics
    """Django's, with its permission keys checked before they are looked up."""
