from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from circlecare.accounts.validators import DISPLAY_NAME_MAX, validate_time_zone
from circlecare.states import HOME_STATE_CHOICES, OUTSIDE_US, US_STATES

#: Languages a member may ask to be contacted in (the interface itself is English: settings.LANGUAGES).
CONTACT_LANGUAGES = [("en", "English"), ("es", "Español")]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who uses circlecare. Other members only ever see ``display_name``."""

    email = models.EmailField("e-mail address", max_length=254, unique=True)
    display_name = models.CharField(
        max_length=DISPLAY_NAME_MAX,
        help_text="The only thing other members see. A first name or a nickname is fine.",
    )
    home_state = models.CharField(
        "where you live",
        max_length=2,
        choices=HOME_STATE_CHOICES,
        blank=True,
        help_text="Therapy groups can only include people living in states where the clinician is licensed.",
    )
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    language = models.CharField(
        "language you'd like to be contacted in",
        max_length=8,
        choices=CONTACT_LANGUAGES,
        default="en",
        help_text=(
            "Your clinician or facilitator sees this when they contact you. "
            "circlecare's own pages and e-mails are in English."
        ),
    )
    email_reminders = models.BooleanField("e-mail me meeting reminders", default=True)
    care_nudges = models.BooleanField("suggest reaching out to someone now and then", default=True)
    care_replies = models.BooleanField(
        "e-mail me when someone responds to my care-board post, or something agreed there is "
        "called off",
        default=True,
    )
    is_facilitator = models.BooleanField(
        default=False, help_text="Trained to lead skills groups or care circles."
    )
    is_staff = models.BooleanField(
        "coordinator", default=False, help_text="Coordinators run cohorts and answer inquiries."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(home_state="")
                | models.Q(home_state__in=[*US_STATES, OUTSIDE_US]),
                name="user_home_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name

    @property
    def lives_in_us(self) -> bool:
        return self.home_state in US_STATES

    @property
    def is_coordinator(self) -> bool:
        return self.is_staff

    @property
    def is_clinician(self) -> bool:
        return hasattr(self, "clinician")


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    CLINICAL = "clinical", "Clinical data"


class PersonalAccessToken(models.Model):
    """A token for integrations. Only a SHA-256 hash is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    #: Made with the second factor on and used. A token without it stops working if its owner
    #: later takes a role that sees others' clinical data (a member who becomes a facilitator).
    second_factor = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="token_expires_after_creation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now() and self.user.is_active

    def allows(self, scope: str) -> bool:
        return scope in self.scopes
