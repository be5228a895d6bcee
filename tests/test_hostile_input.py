"""Hostile input to every page of the site (the API has tests/api/test_fuzz.py): never a 500, and a
request that is refused, or answered with an error, changes nothing.

Every URL pattern outside the admin and the API is walked from the URL configuration, so a new
route is fuzzed without anyone listing it. Its address is filled in, and the person who may use
it chosen, from the access matrices that already build a world for each route
(tests/test_access_matrix.py, tests/meetings and tests/care test_access_matrix.py) or, for the
sign-in pages, from ``ACCOUNT_ROUTES`` below; a route none of them can fill in fails, by name.

Each GET is sent hostile query strings (a NUL byte, 10,000 characters, a lone surrogate, dates
that do not exist, numbers past every column's range, repeated parameters, choices that do not
exist, someone else's ids) in the parameters its page's forms and links use and in common ones.
Each route that takes a POST is sent the fields of the forms that post to it, one field at a time
made hostile and the rest left as the page filled them in, then an empty body, a JSON body and
repeated fields. After an answer that refuses (4xx), shows a form's errors or an error message,
no row of the project's tables has changed.

The admin is walked from its registry: each model's list, as a coordinator, with hostile
searches, filters, date-hierarchy parts and actions on chosen rows, and each change page's address.

PostgreSQL is the stricter database: a NUL byte in text, or a number past a column's range, is an
error there and not on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.apps import apps
from django.contrib import messages
from django.db import connection
from django.forms import BaseForm, BaseFormSet
from django.http import HttpResponse
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse

from tests import test_access_matrix as site
from tests.care import test_access_matrix as care
from tests.factories import PASSWORD
from tests.meetings import test_access_matrix as meetings

pytestmark = pytest.mark.django_db

W = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Which routes, and how to fill each in
# ---------------------------------------------------------------------------------------------

#: Namespaces that are not the site's own pages: the admin (Django's) and the API (fuzzed by
#: schemathesis in tests/api/test_fuzz.py).
FOREIGN_NAMESPACES = {"admin", "api"}


def every_route() -> list[str]:
    found: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                if ns in FOREIGN_NAMESPACES:
                    continue
                walk(p.url_patterns, ns if not namespace else f"{namespace}:{p.namespace}")
            elif isinstance(p, URLPattern):
                if p.name is None:
                    continue  # the API's catch-all, under /api/
                found.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns, None)
    return sorted(found)


#: Who to prefer, when several people may use a route: the person it is for.
PREFERENCE = [
    "member",
    "author",
    "clinician",
    "facilitator",
    "co_facilitator",
    "coordinator",
    "other_member",
    "other_clinician",
    "other_lead",
    "anonymous",
]

#: The sign-in and account pages (django-allauth, and this project's sign-up on top of it),
#: filled in with the site matrix's world.
ACCOUNT_ROUTES: dict[str, tuple[Callable[[W], str], str]] = {
    "account_login": (lambda w: reverse("account_login"), "anonymous"),
    "account_logout": (lambda w: reverse("account_logout"), "member"),
    "account_inactive": (lambda w: reverse("account_inactive"), "anonymous"),
    "account_signup": (lambda w: reverse("account_signup"), "anonymous"),
    "account_reauthenticate": (lambda w: reverse("account_reauthenticate"), "member"),
    "account_email": (lambda w: reverse("account_email"), "member"),
    "account_email_verification_sent": (
        lambda w: reverse("account_email_verification_sent"),
        "anonymous",
    ),
    "account_change_password": (lambda w: reverse("account_change_password"), "member"),
    "account_set_password": (lambda w: reverse("account_set_password"), "member"),
    "account_reset_password": (lambda w: reverse("account_reset_password"), "anonymous"),
    "account_confirm_login_code": (lambda w: reverse("account_confirm_login_code"), "anonymous"),
    "account_confirm_email": (
        lambda w: reverse("account_confirm_email", args=["no-such-key"]),
        "anonymous",
    ),
    "account_reset_password_from_key": (
        lambda w: reverse("account_reset_password_from_key", args=["1", "no-such-key"]),
        "anonymous",
    ),
    "account_reset_password_from_key_done": (
        lambda w: reverse("account_reset_password_from_key_done"),
        "anonymous",
    ),
    "account_reset_password_done": (lambda w: reverse("account_reset_password_done"), "anonymous"),
    "mfa_index": (lambda w: reverse("mfa_index"), "clinician"),
    "mfa_authenticate": (lambda w: reverse("mfa_authenticate"), "anonymous"),
    "mfa_reauthenticate": (lambda w: reverse("mfa_reauthenticate"), "clinician"),
    "mfa_activate_totp": (lambda w: reverse("mfa_activate_totp"), "clinician"),
    "mfa_deactivate_totp": (lambda w: reverse("mfa_deactivate_totp"), "clinician"),
    "mfa_view_recovery_codes": (lambda w: reverse("mfa_view_recovery_codes"), "clinician"),
    "mfa_generate_recovery_codes": (lambda w: reverse("mfa_generate_recovery_codes"), "clinician"),
    "mfa_download_recovery_codes": (lambda w: reverse("mfa_download_recovery_codes"), "clinician"),
    "usersessions_list": (lambda w: reverse("usersessions_list"), "member"),
}

#: Routes that take a POST but whose form is on another page: route → route of that page.
FORM_PAGES: dict[str, str] = {
    "clinic:save_group": "clinic:notes",
    "clinic:save_individual": "clinic:notes",
    "enrollment:accept": "enrollment:my_groups",
    "enrollment:decline": "enrollment:my_groups",
    "enrollment:capacity": "enrollment:roster",
    "meetings:calendar": "meetings:mine",
    "meetings:join": "meetings:detail",
    "meetings:pattern": "meetings:schedule",
    "care:block": "care:post",
    "care:close_post": "care:post",
    "care:match_cancel": "care:post",
    "care:match_done": "care:post",
    "care:resolve_report": "care:facilitate",
}

#: Fields a route reads that no page of its world shows (the form appears in another state:
#: after a match, before a note is signed, for a couples group...), from its form class.
FIELDS: dict[str, list[str]] = {
    "care:match_thanks": ["text"],
    "care:report_post": ["reason"],
    "care:unhide_post": [],
    "care:unblock": [],
    "care:respond": [],
    "clinic:sign": ["sign-group-confirm", "group-text"],
    "clinic:amend": [],
    "clinic:start_individual": [],
    "enrollment:join": [],
    "enrollment:consents": ["adult", "signed_name", "agree_1"],
    "enrollment:partner_invite": ["email"],
    "enrollment:partner_invite_cancel": [],
    "enrollment:partner_accept": [],
    "enrollment:readmit": [],
    "meetings:open": [],
    "token_revoke": [],
    "account_logout": [],
    "account_set_password": ["password1", "password2"],
    "account_confirm_login_code": ["code"],
    "account_confirm_email": [],
    "account_reset_password_from_key": ["password1", "password2"],
    "account_login": ["login", "password", "remember"],
    "account_signup": ["email", "display_name", "password1", "password2"],
    "mfa_activate_totp": ["code"],
    "mfa_deactivate_totp": [],
    "mfa_authenticate": ["code"],
    "mfa_reauthenticate": ["code"],
    "mfa_generate_recovery_codes": [],
}


@dataclass
class Target:
    world: Callable[[], W]
    url: Callable[[W], str]
    role: str


def _chosen(expected: dict[str, int | str]) -> str:
    usable = [r for r, s in expected.items() if s not in (404, site.LOGIN)]
    for role in PREFERENCE:
        if role in usable:
            return role
    # Nobody may use it (someone else's or a missing object): it is still fuzzed, as a member.
    return "member" if "member" in expected else next(r for r in expected if r != "anonymous")


def target(name: str) -> Target | None:
    if name in site.ROUTES:
        build = site.ROUTES[name][1]
        return Target(site.world, build, _chosen(site.EXPECTED[name]))
    namespace, _, short = name.partition(":")
    if namespace == "meetings" and short in meetings.MATRIX:
        _, kwargs, expected = meetings.MATRIX[short]
        return Target(
            meetings.world,
            lambda w: reverse(name, kwargs=kwargs(w)),
            _chosen(expected),
        )
    if namespace == "care" and short in care.MATRIX:
        _, args, care_expected = care.MATRIX[short]
        return Target(
            care.world,
            lambda w: reverse(name, args=args(w)),
            _chosen(dict(care_expected)),
        )
    if name in ACCOUNT_ROUTES:
        build, role = ACCOUNT_ROUTES[name]
        return Target(site.world, build, role)
    return None


# ---------------------------------------------------------------------------------------------
# Hostile values
# ---------------------------------------------------------------------------------------------

LONG = "x" * 10_000
#: A lone UTF-16 surrogate as UTF-8 bytes: not valid UTF-8, sent raw in a query string or body.
SURROGATE = "%ED%A0%80"

VALUES = [
    "a\x00b",
    LONG,
    "2026-02-30",
    "0000-01-01",
    "99999-01-01",
    "-1",
    str(2**63),
    str(-(2**63) - 1),
    "1e309",
    "NaN",
    "Infinity",
    "no-such-choice",
]

#: The values each field or parameter is also sent alone.
EACH = ["a\x00b", str(2**63), "NaN", "2026-02-30"]

#: Query parameters a page may read although no form or link on it names them.
COMMON_PARAMS = [
    "next",
    "page",
    "waiting",
    "kind",
    "focus",
    "cohort",
    "program",
    "start",
    "end",
    "format",
    "interest",
    "fresh",
    "week",
    "status",
    "q",
]


def others_ids(w: W) -> list[str]:
    """Ids that belong to someone else: the other member, their seat and their group."""
    other = w["users"].get("other_member")
    if other is None:
        return []
    ids = {other.pk}
    for enrollment in other.enrollments.all():
        ids |= {enrollment.pk, enrollment.cohort_id}
    return [str(i) for i in sorted(ids)]


# ---------------------------------------------------------------------------------------------
# Reading the forms a page shows
# ---------------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name → the values it may take

    def baseline(self) -> dict[str, list[str]]:
        """The body the page would send as filled in: the first value offered for each field."""
        return {name: values[:1] for name, values in self.fields.items()}


#: What a person would type into an empty field of each type, so that the page's form is valid
#: and a hostile value in one field is not refused only because another was left empty.
FILLER = {
    "text": "Something calm",
    "email": "someone.new@example.org",
    "date": (date.today() + timedelta(days=30)).isoformat(),
    "time": "19:00",
    "number": "1",
    "password": PASSWORD,
}


def filler(kind: str, attrs: dict[str, str]) -> str:
    if kind in ("hidden", "submit", "button"):
        return ""
    if kind == "number" and attrs.get("min"):
        return attrs["min"]
    return FILLER.get(kind, FILLER["text"])


class FormParser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "form":
            self._form = Form(a.get("action") or self.page, (a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag in ("input", "button") and name:
            kind = a.get("type", "text" if tag == "input" else "submit").lower()
            values = form.fields.setdefault(name, [])
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    values.insert(0, a.get("value", "on"))
                else:
                    values.append(a.get("value", "on"))
            elif kind != "file":
                values.append(a.get("value") or filler(kind, a))
        elif tag == "select" and name:
            self._select = name
            form.fields.setdefault(name, [])
        elif tag == "option" and self._select:
            values = form.fields[self._select]
            value = a.get("value", "")
            if "selected" in a:
                values.insert(0, value)
            elif value:
                values.append(value)
        elif tag == "textarea" and name:
            self._textarea = name
            form.fields.setdefault(name, [FILLER["text"]])

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea and data.strip():
            self._form.fields[self._textarea] = [data]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def parse(page: str, response: HttpResponse) -> FormParser:
    parser = FormParser(page)
    if response.get("Content-Type", "").startswith("text/html"):
        parser.feed(response.content.decode("utf-8", "replace"))
    return parser


def same_path(href: str, path: str) -> bool:
    return urlsplit(href).path in ("", path)


# ---------------------------------------------------------------------------------------------
# What the database holds
# ---------------------------------------------------------------------------------------------

#: Rows written by reading or by signing in, which an error may legitimately leave: the audit
#: trail of reads of clinical data, and the session tables.
UNCHECKED_APPS = {"audit", "sessions", "usersessions"}


def checked_models() -> list[Any]:
    return [
        m
        for m in apps.get_models()
        if m._meta.app_label not in UNCHECKED_APPS
        and (m.__module__.startswith("circlecare.") or m._meta.app_label in ("account", "mfa"))
        and m._meta.managed
        and not m._meta.proxy
    ]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every checked table, as stored (read raw: decrypting would only cost time)."""
    rows = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for m in checked_models():
            cursor.execute(f"SELECT * FROM {quote(m._meta.db_table)} ORDER BY 1")  # noqa: S608
            rows[m._meta.label] = cursor.fetchall()
    return rows


def changed(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    return [label for label in before if before[label] != after[label]]


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


@dataclass
class Probe:
    label: str
    send: Callable[[Client], HttpResponse]


def showed_an_error(response: HttpResponse) -> bool:
    if response.status_code >= 400:
        return True
    request = getattr(response, "wsgi_request", None)
    store = getattr(request, "_messages", None)
    queued = getattr(store, "_queued_messages", [])
    if any(m.level >= messages.WARNING for m in queued):
        return True
    for context in response.context or []:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            if isinstance(value, (BaseForm, BaseFormSet)) and value.is_bound and any(value.errors):
                return True
    return False


class Writes:
    """Notes whether a statement that writes to a checked table ran: the rows are read again
    only then (reading every table after every request would be most of the test's time)."""

    def __init__(self) -> None:
        self.unchecked = tuple(
            m._meta.db_table for m in apps.get_models() if m not in set(checked_models())
        )
        self.seen = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            table = sql.split(None, 3)[2 if verb != "UPDATE" else 1].strip('"`')
            if table not in self.unchecked:
                self.seen = True
        return execute(sql, params, many, context)


def run(
    name: str,
    role: str,
    w: W,
    probes: Iterator[Probe],
    error_shown: Callable[[HttpResponse], bool] = showed_an_error,
) -> list[str]:
    user = w["users"].get(role)
    failures: list[str] = []
    client = Client(raise_request_exception=True)
    writes = Writes()
    signed_out = True
    before: dict[str, list[Any]] = {}
    for probe in probes:
        if user is not None and signed_out:
            client.force_login(user)  # sets last_login: the rows are read after it
        if signed_out or not before:
            before = snapshot()
        signed_out = False
        writes.seen = False
        try:
            with connection.execute_wrapper(writes):
                response = probe.send(client)
        except Exception as exc:  # any exception is the failure looked for
            failures.append(f"{name} as {role}: {probe.label}: {type(exc).__name__}: {exc!s:.300}")
            if connection.vendor == "postgresql":
                break  # the test's transaction is aborted: nothing after this can be trusted
            before = {}
            continue
        signed_out = user is not None and not response.wsgi_request.user.is_authenticated
        after = snapshot() if writes.seen else before
        if response.status_code >= 500:
            failures.append(f"{name} as {role}: {probe.label}: {response.status_code}")
        elif error_shown(response):
            moved = changed(before, after)
            if moved:
                failures.append(
                    f"{name} as {role}: {probe.label}: answered {response.status_code} with an "
                    f"error but changed {moved}"
                )
        before = after
    return failures


def get_probes(
    url: str, params: list[str], own: list[str], forms: list[Form], others: list[str]
) -> Iterator[Probe]:
    def get(data: Any, label: str) -> Probe:
        return Probe(f"GET {label}", lambda c: c.get(url, data))

    for value in [*VALUES, *others[:1]]:
        yield get({p: value for p in params}, f"every parameter = {value[:20]!r}")
    for p in own:  # the page's own parameters, alone: a view may stop at the first bad one
        for value in EACH:
            yield get({p: value}, f"{p} = {value[:20]!r}")
    for form in forms:  # and one at a time in the page's own search form, the rest filled in
        base = form.baseline()
        for p in base:
            for value in [*EACH, "0000-01-01", "99999-01-01", "-1", *others]:
                yield get({**base, p: value}, f"{p} = {value[:20]!r} in the form")
    yield get({p: ["1", "2", "\x00"] for p in params}, "every parameter repeated")
    yield Probe(
        "GET every parameter = NUL, from htmx",
        lambda c: c.get(url, dict.fromkeys(params, "\x00"), HTTP_HX_REQUEST="true"),
    )

    def with_zone_cookie(c: Client) -> HttpResponse:
        c.cookies["tz"] = "Etc%2F..%2F..%00" + LONG
        try:
            return c.get(url)
        finally:
            del c.cookies["tz"]

    yield Probe("GET a hostile time-zone cookie", with_zone_cookie)
    raw = "&".join(f"{p}={SURROGATE}" for p in params)
    yield Probe("GET lone surrogate", lambda c: c.get(f"{url}?{raw}"))


PLACEHOLDER = "zzzhostilezzz"


def path_probes(url: str, takes_get: bool) -> Iterator[Probe]:
    """The address's own parts made hostile: ids past every column's range, a NUL byte, 10,000
    characters, a lone surrogate, wherever the pattern lets them through."""
    match = resolve(urlsplit(url).path)
    for key in match.kwargs:
        for value in [str(2**63), "0", "a\x00b", LONG, PLACEHOLDER]:
            try:
                hostile = reverse(match.view_name, kwargs={**match.kwargs, key: value})
            except NoReverseMatch:
                continue  # the pattern does not let this value through
            hostile = hostile.replace(PLACEHOLDER, SURROGATE)
            label = f"{key} = {value[:20]!r} in the address"
            if takes_get:
                yield Probe(f"GET {label}", lambda c, u=hostile: c.get(u))
            yield Probe(f"POST {label}", lambda c, u=hostile: c.post(u, {}))


def method_probes(url: str) -> Iterator[Probe]:
    """The methods no form sends: refused (405) or answered as the page answers a GET."""
    yield Probe("HEAD", lambda c: c.head(url))
    yield Probe("OPTIONS", lambda c: c.options(url))
    yield Probe(
        "PUT a form body", lambda c: c.put(url, "next=%00", "application/x-www-form-urlencoded")
    )
    yield Probe("PATCH a JSON body", lambda c: c.patch(url, "{}", "application/json"))
    yield Probe("DELETE", lambda c: c.delete(url))


def post_probes(url: str, forms: list[Form], others: list[str]) -> Iterator[Probe]:
    def post(data: Any, label: str) -> Probe:
        return Probe(f"POST {label}", lambda c: c.post(url, data))

    for form in forms or [Form(url, "post")]:
        base = form.baseline()
        base.pop("csrfmiddlewaretoken", None)
        names = [*base, *(["next"] if "next" not in base else [])]
        for value in [*VALUES, *others[:1]]:
            yield post({**base, **dict.fromkeys(names, value)}, f"every field = {value[:20]!r}")
        for name in names:  # one at a time, the rest as filled in: a view may stop at the first
            for value in [*EACH, *others]:
                yield post({**base, name: value}, f"{name} = {value[:20]!r}")
        yield post({n: [*base.get(n, []), "\x00", "-1"] for n in names}, "every field repeated")
        yield Probe(
            "POST every field = NUL, from htmx",
            lambda c, names=names: c.post(
                url, dict.fromkeys(names, "a\x00b"), HTTP_HX_REQUEST="true"
            ),
        )
        flat = {n: v[0] if v else "" for n, v in base.items()}
        yield Probe(
            "POST a JSON body",
            lambda c, flat=flat: c.post(url, json.dumps(flat), content_type="application/json"),
        )
        raw = urlencode({n: v for n, v in flat.items()})
        raw = "&".join([raw, *(f"{n}={SURROGATE}" for n in names)]).lstrip("&")
        yield Probe(
            "POST lone surrogate",
            lambda c, raw=raw: c.post(url, raw, content_type="application/x-www-form-urlencoded"),
        )
    yield Probe(
        "POST a JSON body of hostile values",
        lambda c: c.post(
            url, json.dumps({"a": "\x00", "b": 2**63}), content_type="application/json"
        ),
    )
    # Past the limits in settings: more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS, a body larger
    # than DATA_UPLOAD_MAX_MEMORY_SIZE.
    yield post({f"f{i}": "1" for i in range(250)}, "250 fields")
    yield post({"next": "x" * (1024 * 1024 + 1)}, "a body over a megabyte")


ROUTES = every_route()


def test_every_route_is_walked() -> None:
    """The walk finds the site's routes (the matrices check they are all classified)."""
    assert {"home", "enrollment:join", "care:respond", "account_login"} <= set(ROUTES)
    unfilled = [name for name in ROUTES if target(name) is None]
    assert not unfilled, f"routes that cannot be filled in: {unfilled}"


@pytest.mark.parametrize("name", ROUTES)
def test_hostile_input_is_refused_cleanly(name: str) -> None:
    t = target(name)
    if t is None:
        pytest.fail(
            f"{name} cannot be filled in: add it to an access matrix, or to ACCOUNT_ROUTES here"
        )
    w = t.world()
    url = t.url(w)
    path = urlsplit(url).path
    user = w["users"].get(t.role)
    client = Client()
    if user is not None:
        client.force_login(user)

    page = client.get(url)
    takes_get = page.status_code != 405
    own: list[str] = []
    get_forms: list[Form] = []
    forms: list[Form] = []
    if takes_get and page.status_code == 200:
        found = parse(path, page)
        for form in found.forms:
            if form.method == "get" and same_path(form.action, path):
                own += [n for n in form.fields if n not in own]
                get_forms.append(form)
            elif form.method == "post" and same_path(form.action, path):
                forms.append(form)
        for href in found.links:
            if same_path(href, path):
                own += [k for k, _ in parse_qsl(urlsplit(href).query) if k not in own]
    if not forms and name in FORM_PAGES:
        holder = target(FORM_PAGES[name])
        assert holder is not None
        found = parse(path, client.get(holder.url(w)))
        forms = [f for f in found.forms if f.method == "post" and same_path(f.action, path)]
    if not forms and name in FIELDS:
        forms = [Form(path, "post", {n: [FILLER["text"]] for n in FIELDS[name]})]

    others = others_ids(w)
    failures: list[str] = []
    if takes_get:
        params = [*own, *(p for p in COMMON_PARAMS if p not in own)]
        failures += run(name, t.role, w, get_probes(url, params, own, get_forms, others))

    before = snapshot()
    try:
        empty = client.post(url, {})
    except Exception as exc:  # any exception is the failure looked for
        pytest.fail(f"{name} as {t.role}: POST empty body: {type(exc).__name__}: {exc!s:.300}")
    takes_post = empty.status_code != 405
    if takes_post and showed_an_error(empty) and changed(before, snapshot()):
        failures.append(f"{name}: POST empty body: an error, but {changed(before, snapshot())}")
    if takes_post and not forms:
        if not takes_get:
            pytest.fail(
                f"{name} takes only a POST and no form posting to it was found: name the page "
                "that holds it in FORM_PAGES, or its fields in FIELDS"
            )
        forms = [Form(path, "post")]  # a page that answers a POST as it answers a GET
    if takes_post:
        failures += run(name, t.role, w, post_probes(url, forms, others))
    failures += run(name, t.role, w, path_probes(url, takes_get))
    failures += run(name, t.role, w, method_probes(url))
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# The admin: every registered model's list and change page, as a coordinator who may use them
# ---------------------------------------------------------------------------------------------

#: The change list's own parameters; each filter's are read from the links on the page.
ADMIN_PARAMS = ["q", "o", "p", "e", "_facets", "all"]


def admin_models() -> list[str]:
    from django.contrib import admin

    return sorted(m._meta.label for m in admin.site._registry)


#: Fewer values than for the site's pages: the admin is Django's, the lists are slow to draw, and
#: what fails there fails on the kind of value (text, number, date), not on each variant.
ADMIN_VALUES = ["a\x00b", LONG, str(2**63), "99999-01-01", "NaN", "no-such-choice"]


def admin_probes(
    url: str, params: list[str], actions: list[Form], others: list[str]
) -> Iterator[Probe]:
    for value in [*ADMIN_VALUES, *others[:1]]:
        yield Probe(
            f"GET every parameter = {value[:20]!r}",
            lambda c, v=value: c.get(url, dict.fromkeys(params, v)),
        )
    raw = "&".join(f"{p}={SURROGATE}" for p in params)
    yield Probe("GET lone surrogate", lambda c: c.get(f"{url}?{raw}"))
    for form in actions:  # the list's actions, on chosen rows
        base = {n: v for n, v in form.baseline().items() if n != "csrfmiddlewaretoken"}
        for value in [*ADMIN_VALUES, *others]:
            chosen = {**base, "_selected_action": [value]}
            yield Probe(f"POST rows {value[:20]!r}", lambda c, d=chosen: c.post(url, d))
            every = {**dict.fromkeys(base, value), "_selected_action": [value]}
            yield Probe(f"POST every field = {value[:20]!r}", lambda c, d=every: c.post(url, d))


@pytest.mark.parametrize("label", admin_models())
def test_hostile_input_to_the_admin_is_refused_cleanly(label: str) -> None:
    from django.contrib import admin

    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    w = site.world()
    coordinator = w["users"]["coordinator"]
    coordinator.is_superuser = True
    coordinator.save(update_fields=["is_superuser"])
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    client = Client()
    client.force_login(coordinator)
    page = client.get(url)
    assert page.status_code == 200, f"{label}: the list answers {page.status_code}"
    found = parse(url, page)
    params = list(ADMIN_PARAMS)
    for href in found.links:
        if href.startswith("?"):
            params += [k for k, _ in parse_qsl(href[1:]) if k not in params]
    if model_admin.date_hierarchy:
        params += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    actions = [f for f in found.forms if f.method == "post" and same_path(f.action, url)]
    others = others_ids(w)
    failures = run(label, "coordinator", w, admin_probes(url, params, actions, others))
    row = model._default_manager.first()
    if row is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        failures += run(label, "coordinator", w, path_probes(change, takes_get=True))
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# The admin's add and change forms: each field made hostile in turn, the rest as the page filled
# them in, as a coordinator (a superuser, so every form the admin has is reached)
# ---------------------------------------------------------------------------------------------

#: The values each field of an admin form is sent alone: what fails there fails on text (a NUL
#: byte) or on a key or number past its column (someone else's ids go in every field at once).
ADMIN_EACH = ["a\x00b", str(2**63)]


def admin_showed_an_error(response: HttpResponse) -> bool:
    """The admin redirects only after it saved (a warning beside a saved change, such as a group
    its lead is no longer licensed for, is not a refusal); its forms reach the template wrapped
    (``AdminForm``, inline formsets), so their errors are read from the wrapped form."""
    if 300 <= response.status_code < 400:
        return False
    if showed_an_error(response):
        return True
    for context in response.context or []:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            wrapped = getattr(value, "form", None) or getattr(value, "formset", None)
            if (
                isinstance(wrapped, (BaseForm, BaseFormSet))
                and wrapped.is_bound
                and (any(wrapped.errors) or getattr(wrapped, "non_form_errors", list)())
            ):
                return True
    return False


def admin_form_probes(url: str, form: Form, others: list[str]) -> Iterator[Probe]:
    base = {n: v for n, v in form.baseline().items() if n != "csrfmiddlewaretoken"}
    buttons = {"_save", "_continue", "_addanother", "_saveasnew"}
    # Not made hostile: an inline's blank template row (``__prefix__``, which Django never
    # reads) and its formset's counts (Django's own, capped at 2,000 forms: a huge count only
    # draws that many empty rows, slowly).
    counts = ("-TOTAL_FORMS", "-INITIAL_FORMS", "-MIN_NUM_FORMS", "-MAX_NUM_FORMS")
    names = [
        n for n in base if n not in buttons and "__prefix__" not in n and not n.endswith(counts)
    ]

    def post(data: Any, label: str) -> Probe:
        return Probe(f"POST {label}", lambda c: c.post(url, data))

    for value in [*ADMIN_VALUES, *others[:1]]:
        yield post({**base, **dict.fromkeys(names, value)}, f"every field = {value[:20]!r}")
    for name in names:
        for value in ADMIN_EACH:
            yield post({**base, name: value}, f"{name} = {value[:20]!r}")
    raw = "&".join(f"{n}={SURROGATE}" for n in names)
    yield Probe(
        "POST lone surrogate",
        lambda c: c.post(url, raw, content_type="application/x-www-form-urlencoded"),
    )


@pytest.mark.parametrize("which", ["add", "change"])
@pytest.mark.parametrize("label", admin_models())
def test_hostile_admin_forms_are_refused_cleanly(label: str, which: str) -> None:
    from django.contrib import admin

    model = apps.get_model(label)
    opts = model._meta
    w = site.world()
    coordinator = w["users"]["coordinator"]
    coordinator.is_superuser = True
    coordinator.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(coordinator)
    if which == "add":
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    else:
        row = model._default_manager.order_by("pk").first()
        if row is None:
            pytest.skip(f"{label}: the demo world has no row to change")
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
    page = client.get(url)
    if page.status_code == 403:
        model_admin = admin.site._registry[model]
        request = page.wsgi_request
        allowed = (
            model_admin.has_add_permission(request)
            if which == "add"
            else model_admin.has_change_permission(request, row)
            or model_admin.has_view_permission(request, row)
        )
        assert not allowed, f"{label}: the {which} form answers 403 to a superuser"
        pytest.skip(f"{label}: the admin offers no {which} form")
    assert page.status_code == 200, f"{label}: the {which} form answers {page.status_code}"
    found = parse(urlsplit(url).path, page)
    forms = [f for f in found.forms if f.method == "post" and same_path(f.action, url)]
    if not forms:
        pytest.skip(f"{label}: the {which} page is read-only")
    others = others_ids(w)
    failures: list[str] = []
    for form in forms:
        probes = admin_form_probes(url, form, others)
        failures += run(label, "coordinator", w, probes, admin_showed_an_error)
    assert not failures, "\n".join(failures)
