"""The signed-in person's own profile."""

from typing import Any

from django.http import HttpRequest
from ninja import Schema
from pydantic import StrictBool

from circlecare.accounts.forms import ProfileForm
from circlecare.api import AUTH, ERRORS, ErrorOut, Input, Router, form_errors, require_scope
from circlecare.errors import DomainError

router = Router(auth=AUTH)


class ProfileOut(Schema):
    email: str
    display_name: str
    home_state: str
    time_zone: str
    language: str
    email_reminders: bool
    care_nudges: bool
    care_replies: bool


class ProfileIn(Input):
    display_name: str | None = None
    home_state: str | None = None
    time_zone: str | None = None
    language: str | None = None
    email_reminders: StrictBool | None = None
    care_nudges: StrictBool | None = None
    care_replies: StrictBool | None = None


class InvalidProfile(DomainError):
    code = "invalid"
    default_message = "Some of the details aren't valid."
    status = 422


@router.get("", response={200: ProfileOut, ERRORS: ErrorOut}, summary="My profile")
def get_me(request: HttpRequest) -> Any:
    require_scope(request, "read")
    return request.user


@router.patch("", response={200: ProfileOut, ERRORS: ErrorOut}, summary="Change my profile")
def update_me(request: HttpRequest, payload: ProfileIn) -> Any:
    require_scope(request, "write")
    user = request.user
    current = {f: getattr(user, f) for f in ProfileIn.model_fields}
    changes = payload.dict(exclude_unset=True, exclude_none=True)
    form = ProfileForm(data={**current, **changes}, instance=user)
    if not form.is_valid():
        raise InvalidProfile(detail=form_errors(form))
    form.save()
    return user
