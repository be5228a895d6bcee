"""A URL configuration with patterns whose URLs are not a fixed shape (tests/test_urlshapes.py)."""

from django.http import HttpResponse
from django.urls import include, path, re_path, register_converter
from django.urls.converters import IntConverter


class LongNumber(IntConverter):
    """Django's int converter narrowed to five digits or more."""

    regex = "[0-9]{5,}"


register_converter(LongNumber, "longnumber")


def _view(request, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse("")


inner = (
    [path("item/<int:pk>/", _view, name="item"), path("page/<slug:slug>/", _view, name="page")],
    "inner",
)

urlpatterns = [
    re_path(r"^year/(?P<year>[0-9]{4})/$", _view, name="year"),
    re_path(r"^lower/(?P<word>[a-z]+)/$", _view, name="lower"),
    # One name, two patterns, in both orders: which one Django picks depends on the number.
    re_path(r"^short/(?P<n>[0-9]{1,3})/$", _view, name="either"),
    path("long/<int:n>/", _view, name="either"),
    path("long2/<int:n>/", _view, name="either2"),
    re_path(r"^short2/(?P<n>[0-9]{1,3})/$", _view, name="either2"),
    path("two/<int:a>/<slug:b>/", _view, name="two"),
    path("plain/", _view, name="plain"),
    path("rev/<slug:z>/<int:a>/", _view, name="rev"),
    path("long5/<longnumber:n>/", _view, name="long5"),
    path("nested/", include(inner)),
    path("org/<int:org>/", include(([path("member/<slug:who>/", _view, name="member")], "org"))),
    path("other/", include((inner[0], "inner"), namespace="elsewhere")),
]
