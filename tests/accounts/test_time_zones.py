"""The time zones a person can choose at sign-up and on their profile, and the rule that checks them."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from circlecare.accounts import validators
from circlecare.accounts.forms import ProfileForm, SignupDetailsForm
from circlecare.accounts.models import User
from circlecare.accounts.validators import ZONE_AREAS, selectable_zones, validate_time_zone
from circlecare.middleware import ViewerTimezoneMiddleware
from tests.factories import UserFactory

# Not places: a build placeholder, system links, fixed offsets and renamed or legacy aliases.
NOT_PLACES = [
    "Factory",
    "localtime",
    "posixrules",
    "US/Eastern",
    "GMT+0",
    "GMT",
    "Etc/GMT+5",
    "Etc/UTC",
    "EST5EDT",
    "Asia/Calcutta",
    "Europe/Kiev",
    "America/Buenos_Aires",
    "Mars/Olympus",
    "utc",
    "",
]
# Zones the factories, tests and demo seeders store: they must keep validating.
IN_USE = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Detroit",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Argentina/Buenos_Aires",
    "Europe/London",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "UTC",
]


def offered(form_class: type[SignupDetailsForm] | type[ProfileForm]) -> list[str]:
    values: list[str] = []
    for value, label in form_class().fields["time_zone"].choices:
        if isinstance(label, list):  # a region's <optgroup>
            values.extend(zone for zone, _ in label)
        else:
            values.append(value)
    return values


@pytest.mark.parametrize("form_class", [SignupDetailsForm, ProfileForm])
def test_only_real_places_and_utc_are_offered(
    form_class: type[SignupDetailsForm] | type[ProfileForm],
) -> None:
    values = offered(form_class)
    assert values[0] == ""  # the "Choose your time zone" prompt
    zones = values[1:]
    assert set(zones) == selectable_zones()
    assert set(IN_USE) <= set(zones)
    assert {"Europe/Kyiv", "Asia/Kolkata"} <= set(zones)  # current names, not the old ones
    assert not set(NOT_PLACES) & set(zones)
    assert all(zone == "UTC" or zone.split("/")[0] in ZONE_AREAS for zone in zones)


def test_choices_are_grouped_by_region_and_sorted_by_place() -> None:
    choices = SignupDetailsForm().fields["time_zone"].choices
    assert choices[0] == ("", "Choose your time zone")
    assert choices[-1][0] == "UTC"
    regions = choices[1:-1]
    assert [name for name, _ in regions] == sorted(name for name, _ in regions)
    for _region, places in regions:
        labels = [label for _, label in places]
        assert labels == sorted(labels)
    america = dict(dict(regions)["America"])
    assert america["America/New_York"] == "New York"
    assert america["America/Argentina/Buenos_Aires"] == "Argentina / Buenos Aires"


@pytest.mark.parametrize("zone", NOT_PLACES)
def test_validator_refuses_what_is_not_a_place(zone: str) -> None:
    with pytest.raises(ValidationError, match="Please choose your time zone from the list"):
        validate_time_zone(zone)


@pytest.mark.parametrize("zone", IN_USE)
def test_validator_keeps_accepting_zones_already_stored(zone: str) -> None:
    validate_time_zone(zone)


@pytest.fixture
def without_zone_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(validators, "_zone_table", lambda: None)
    selectable_zones.cache_clear()
    yield
    selectable_zones.cache_clear()


@pytest.mark.usefixtures("without_zone_table")
def test_without_zone_tab_aliases_outside_the_areas_are_still_left_out() -> None:
    zones = selectable_zones()
    assert set(IN_USE) <= zones
    assert not {"Factory", "localtime", "posixrules", "US/Eastern", "GMT+0", "Etc/UTC"} & zones


@pytest.mark.django_db
def test_signup_with_factory_zone_is_refused(client: Client) -> None:
    response = client.post(
        reverse("account_signup"),
        {
            "email": "zone@example.org",
            "password1": "river stones hum softly",
            "password2": "river stones hum softly",
            "display_name": "Robin",
            "home_state": "NJ",
            "time_zone": "Factory",
            "adult": "on",
        },
    )
    assert response.status_code == 200
    assert "Please choose your time zone from the list." in response.content.decode()
    assert not User.objects.filter(email="zone@example.org").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Factory", "US/Eastern"])
def test_profile_refuses_zones_that_are_not_places(client: Client, zone: str) -> None:
    user = UserFactory(time_zone="Europe/London")
    client.force_login(user)
    response = client.post(
        reverse("profile"),
        {
            "display_name": user.display_name,
            "home_state": "NY",
            "time_zone": zone,
            "language": "en",
        },
    )
    assert response.status_code == 400
    assert "Please choose your time zone from the list." in response.content.decode()
    user.refresh_from_db()
    assert user.time_zone == "Europe/London"


class SelectFinder(HTMLParser):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.attrs: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "select" and dict(attrs).get("name") == self.name:
            self.attrs = dict(attrs)


def time_zone_select(html: str) -> dict[str, str | None]:
    finder = SelectFinder("time_zone")
    finder.feed(html)
    assert finder.attrs is not None, "no time zone <select> on the page"
    return finder.attrs


@pytest.mark.django_db
def test_time_zone_select_is_required_on_signup_and_profile(client: Client) -> None:
    signup_page = client.get(reverse("account_signup")).content.decode()
    assert "required" in time_zone_select(signup_page)
    assert 'Your time zone <span class="field-required">(required)</span>' in signup_page

    client.force_login(UserFactory())
    profile_page = client.get(reverse("profile")).content.decode()
    assert "required" in time_zone_select(profile_page)
    assert 'value="America/New_York" selected' in profile_page


@pytest.mark.django_db
def test_signup_starts_from_the_zone_the_browser_reported(client: Client) -> None:
    # As static/js/local-time.js writes it: the name URL-encoded.
    client.cookies["tz"] = "America%2FLos_Angeles"
    page = client.get(reverse("account_signup")).content.decode()
    assert 'value="America/Los_Angeles" selected' in page
    # No zone reported (or one that is not a place): the list asks for a choice, no guess.
    for cookie in ("", "Factory", "Not%2FA_Zone"):
        client.cookies["tz"] = cookie
        page = client.get(reverse("account_signup")).content.decode()
        assert "selected" not in page.split('name="time_zone"')[1].split("</select>")[0].replace(
            '<option value="" selected>', ""
        )


@pytest.mark.django_db
def test_pages_show_times_in_the_zone_the_browser_reported(client: Client) -> None:
    request = RequestFactory().get("/", HTTP_COOKIE="tz=Europe%2FLondon")
    request.user = AnonymousUser()
    seen: dict[str, str] = {}

    def view(req: HttpRequest) -> HttpResponse:
        seen["zone"] = str(req.viewer_zone)  # type: ignore[attr-defined]
        return HttpResponse()

    ViewerTimezoneMiddleware(view)(request)
    assert seen["zone"] == "Europe/London" and request.viewer_zone_known  # type: ignore[attr-defined]
