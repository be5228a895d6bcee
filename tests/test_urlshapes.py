"""``circlecare.urlshapes.reverse`` gives what ``django.urls.reverse`` gives, for every name."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, SlugConverter, StringConverter
from django.urls.resolvers import RoutePattern
from hypothesis import given, settings
from hypothesis import strategies as st

from circlecare import urlshapes


@pytest.fixture(autouse=True)
def _fresh_shapes() -> Any:
    urlshapes.forget()
    yield
    urlshapes.forget()


def _named_routes(resolver: URLResolver, namespace: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            prefix_converters = getattr(entry.pattern, "converters", {})
            for name, converters in _named_routes(entry, inner):
                found.append((name, {**prefix_converters, **converters}))
        elif (
            isinstance(entry, URLPattern) and entry.name and isinstance(entry.pattern, RoutePattern)
        ):
            found.append((f"{namespace}{entry.name}", dict(entry.pattern.converters)))
    return found


SLUGS = st.from_regex(r"[-a-zA-Z0-9_]{1,20}", fullmatch=True)
VALUES = {IntConverter: st.integers(min_value=0, max_value=10**12), SlugConverter: SLUGS}


def _strategy(converter: Any) -> Any:
    for kind, strategy in VALUES.items():
        if type(converter) is kind:
            return strategy
    if type(converter) is StringConverter:
        return SLUGS
    return None


ROUTES = [
    (name, converters)
    for name, converters in _named_routes(get_resolver())
    if all(_strategy(c) is not None for c in converters.values())
]


def test_the_project_has_routes_with_arguments() -> None:
    assert any(converters for _name, converters in ROUTES)
    assert any(name == "enrollment:remove" for name, _c in ROUTES)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_project_route_reverses_as_django_does(data: Any) -> None:
    name, converters = data.draw(st.sampled_from(ROUTES))
    kwargs = {key: data.draw(_strategy(conv)) for key, conv in converters.items()}
    assert urlshapes.reverse(name, kwargs=kwargs) == reverse(name, kwargs=kwargs)
    args = list(kwargs.values())
    try:
        expected = reverse(name, args=args)
    except NoReverseMatch:
        with pytest.raises(NoReverseMatch):
            urlshapes.reverse(name, args=args)
    else:
        assert urlshapes.reverse(name, args=args) == expected


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("enrollment:remove", [-3]),  # a negative number is no page's id
        ("enrollment:remove", ["a b"]),
        ("enrollment:remove", ["x"]),
        ("enrollment:remove", [True]),
        ("enrollment:remove", [5.0]),
        ("enrollment:remove", []),
        ("no-such-page", []),
        ("programs:detail", ["ünïcode"]),
        ("programs:detail", ["a/b"]),
    ],
)
def test_other_values_get_what_django_gives(name: str, args: list[Any]) -> None:
    try:
        expected = reverse(name, args=args)
    except NoReverseMatch:
        with pytest.raises(NoReverseMatch):
            urlshapes.reverse(name, args=args)
        with pytest.raises(NoReverseMatch):  # and again, once a shape may be remembered
            urlshapes.reverse(name, args=args)
    else:
        assert urlshapes.reverse(name, args=args) == expected
        assert urlshapes.reverse(name, args=args) == expected


@pytest.mark.urls("tests.odd_urls")
@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("year", [2026], {}),
        ("year", [20261], {}),
        ("year", [7], {}),
        ("lower", ["abc"], {}),
        ("lower", ["Abc"], {}),
        ("lower", ["ab9"], {}),
        ("either", [12], {}),
        ("either", [1234], {}),
        ("either", [12], {}),
        ("two", [4, "x-y"], {}),
        ("two", [], {"b": "x-y", "a": 4}),
        ("two", [4], {"b": "x"}),
        ("plain", [], {}),
        ("plain", [1], {}),
        ("rev", [], {"a": 3, "z": "zed"}),
        ("rev", ["zed", 3], {}),
        ("rev", [3, "zed"], {}),
        ("long5", [12], {}),
        ("long5", [123456], {}),
        ("inner:item", [9], {}),
        ("inner:page", ["a-b"], {}),
        ("inner:item", ["a-b"], {}),
        ("org:member", [3, "ann"], {}),
        ("org:member", [], {"who": "ann", "org": 3}),
        ("org:member", ["ann", 3], {}),
        ("elsewhere:item", [9], {}),
    ],
)
def test_patterns_without_a_fixed_shape(name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    for _ in range(2):  # the second call may use a remembered shape
        assert _outcome(urlshapes.reverse, name, args, kwargs) == _outcome(
            reverse, name, args, kwargs
        )


def _outcome(reverser: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The URL, or the kind of error raised (mixing args and kwargs is a ValueError)."""
    try:
        return reverser(name, args=args, kwargs=kwargs)
    except (NoReverseMatch, ValueError) as error:
        return type(error)


@pytest.mark.urls("tests.odd_urls")
@pytest.mark.parametrize("name", ["either", "either2"])
def test_one_name_two_patterns_follow_django(name: str) -> None:
    answers = set()
    for n in (12, 1234, 5, 99999, 0, 123):
        assert urlshapes.reverse(name, args=[n]) == reverse(name, args=[n])
        answers.add(reverse(name, args=[n]).split("/")[1])
    assert answers in ({"long", "short"}, {"long2", "short2"}, {"long"}, {"long2"})


@pytest.mark.urls("tests.odd_urls")
def test_keyword_arguments_in_another_order_than_the_route_use_the_shape() -> None:
    assert urlshapes.reverse("rev", kwargs={"a": 3, "z": "zed"}) == "/rev/zed/3/"
    assert urlshapes.reverse("rev", kwargs={"z": "w-1", "a": 40}) == "/rev/w-1/40/"
    assert any(shape is not None for shape in urlshapes._shapes.values())


def test_script_prefix_is_part_of_the_shape() -> None:
    from django.urls import set_script_prefix

    plain = urlshapes.reverse("enrollment:remove", args=[5])
    try:
        set_script_prefix("/practice/")
        assert urlshapes.reverse("enrollment:remove", args=[5]) == "/practice" + plain
    finally:
        set_script_prefix("/")
    assert urlshapes.reverse("enrollment:remove", args=[5]) == plain


def test_url_tag_uses_the_same_answers() -> None:
    template = Template(
        "{% url 'enrollment:remove' pk %}|{% url 'programs:detail' slug=slug %}|"
        "{% url 'programs:list' as listing %}{{ listing }}|{% url 'no-such-page' as missing %}[{{ missing }}]"
    )
    out = template.render(Context({"pk": 42, "slug": "dbt-skills"}))
    assert out == (
        f"{reverse('enrollment:remove', args=[42])}|"
        f"{reverse('programs:detail', kwargs={'slug': 'dbt-skills'})}|"
        f"{reverse('programs:list')}|[]"
    )
    with pytest.raises(NoReverseMatch):
        Template("{% url 'no-such-page' %}").render(Context({}))
