from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from circlecare.accounts.models import User


class CreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name")


class ChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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
