"""Every page, for every role, read as a screen-reader or keyboard user meets it (WCAG 2.2 AA).

The pages are those of the access matrices (tests/test_access_matrix.py and the meetings and care
matrices, which every route must be in), so a new page is checked here as soon as it is classified
there. Each page is read with the standard library's HTML parser for what can be known without a
browser: every control and every link or button has a name, ids are unique and every reference
to one resolves, one <h1> and no skipped heading levels, images have alt text, data tables have
headers, no positive tabindex, links that open a new window say so, e-mail and password fields
say what they hold (autocomplete), and a form's errors are tied to their fields (aria-invalid,
aria-describedby) as includes/field.html does. Each form on those pages is then sent with its
fields cleared, and the page that answers (its errors, or where it leads) is read too. Pages the
matrices only pass by (agreements, intake, invitations, sign-in) are reached along the way a
person takes to them. The browser journeys (tests/browser) run axe-core on the pages they pass
through.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from circlecare.clinic.services import sign_note
from circlecare.enrollment import services
from circlecare.measures.plans import intake_codes
from circlecare.measures.services import submit_intake
from circlecare.programs.models import ProgramKind
from tests import test_access_matrix as site
from tests.care import test_access_matrix as care
from tests.care.factories import CarePostFactory, ReflectionFactory, make_circle, make_match
from tests.enrollment.factories import (
    invite_partner,
    only_enrollment_steps,
    publish_consents,
    ready_member,
    sign_all,
)
from tests.factories import PASSWORD, CohortFactory, LicenseFactory, ProgramFactory, UserFactory
from tests.measures.factories import answers_for
from tests.meetings import test_access_matrix as meetings
from tests.meetings.factories import meeting_at, member_of
from tests.mfa import code_for, enable_totp

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
}  # fmt: skip
UNNAMED_INPUTS = {"hidden", "submit", "button", "reset", "image"}
PURPOSES = {
    "password": {"current-password", "new-password", "one-time-code"},
    "email": {"email", "username", "off"},
}
ID_REFS = ("aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage")
NEW_WINDOW = re.compile(r"new (window|tab)", re.IGNORECASE)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)
    line: int = 0

    def walk(self) -> list[Node]:
        found = [self]
        for child in self.children:
            if isinstance(child, Node):
                found.extend(child.walk())
        return found

    def ancestors(self) -> list[Node]:
        found = []
        node = self.parent
        while node is not None:
            found.append(node)
            node = node.parent
        return found

    def text(self) -> str:
        """The text a screen reader reads for this element (aria-hidden parts left out)."""
        if self.attrs.get("aria-hidden") == "true":
            return ""
        if self.tag == "img":
            return self.attrs.get("alt") or ""
        if self.tag == "input" and self.attrs.get("type") in {"submit", "button", "reset"}:
            return self.attrs.get("value") or ""
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())

    def describe(self) -> str:
        shown = " ".join(f'{k}="{v}"' for k, v in self.attrs.items() if k in KEY_ATTRS)
        return f"line {self.line} <{self.tag}{' ' + shown if shown else ''}>"


KEY_ATTRS = ("id", "name", "type", "href", "class")


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current, line=self.getpos()[0])
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current, line=self.getpos()[0])
        self.current.children.append(node)

    def handle_endtag(self, tag: str) -> None:
        open_tags = [self.current, *self.current.ancestors()]
        for node in open_tags:
            if node.tag == tag:
                assert node.parent is not None
                self.current = node.parent
                return

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


Form = tuple[str, tuple[tuple[str, str], ...], bool]


def forms_to_send(html: str, page: str) -> list[Form]:
    """The page's POST forms as a person would send them with every field cleared: where each
    sends to (the page itself for a form with no action), and what: its hidden fields as they
    are, its other fields empty, boxes unticked, and its first button's name and value; and
    whether, with JavaScript, it is sent in place (htmx) for a part of the page to answer."""
    found = []
    for form in parse(html).walk():
        if form.tag != "form" or form.attrs.get("method", "get").lower() != "post":
            continue
        data: dict[str, str] = {}
        pressed = False
        for n in form.walk()[1:]:
            name, kind = n.attrs.get("name"), n.attrs.get("type", "")
            if not name or n.tag not in {"input", "select", "textarea", "button"}:
                continue
            if n.tag == "button" or kind == "submit":
                if not pressed:
                    data[name] = n.attrs.get("value", "")
                pressed = True
            elif kind == "hidden":
                data[name] = n.attrs.get("value", "")
            elif kind not in {"checkbox", "radio"}:
                data[name] = ""
        action = urljoin(page, form.attrs.get("action") or page)
        found.append((action, tuple(data.items()), "hx-post" in form.attrs))
    return found


def _ids(value: str) -> list[str]:
    return value.split()


def problems(html: str, *, page: bool = True) -> list[str]:
    """What is wrong in ``html``: a whole page, or (``page=False``) a part swapped into one."""
    root = parse(html)
    nodes = root.walk()[1:]
    found: list[str] = []
    ids = Counter(n.attrs["id"] for n in nodes if "id" in n.attrs)
    by_id = {n.attrs["id"]: n for n in nodes if "id" in n.attrs}

    found += [f'id "{i}" is used {count} times' for i, count in ids.items() if count > 1]

    html_tags = [n for n in nodes if n.tag == "html"]
    titles = [n for n in nodes if n.tag == "title"]
    headings = [n for n in nodes if re.fullmatch(r"h[1-6]", n.tag)]
    h1s = [h for h in headings if h.tag == "h1"]
    if page:
        if not html_tags or not html_tags[0].attrs.get("lang"):
            found.append("<html> has no lang")
        if not titles or not titles[0].text():
            found.append("the page has no <title>")
        if len(h1s) != 1:
            found.append(f"{len(h1s)} <h1> on the page: {[h.text() for h in h1s]}")
        if sum(n.tag == "main" for n in nodes) != 1:
            found.append("the page has no <main> (or more than one) to skip to")
    # A message above the page's own heading (with the crisis resources under it) may open with
    # an <h2>; nothing may open deeper than that.
    level = 1 if page else 6
    for heading in headings:
        this = int(heading.tag[1])
        if this > level + 1:
            found.append(f"{heading.describe()} {heading.text()!r} follows an <h{level}>")
        level = this
        if not heading.text():
            found.append(f"{heading.describe()} is empty")

    labels_for = {n.attrs["for"]: n for n in nodes if n.tag == "label" and n.attrs.get("for")}
    for node in nodes:
        attrs = node.attrs
        for name in ID_REFS:
            for ref in _ids(attrs.get(name, "")):
                if ref not in by_id:
                    found.append(f'{node.describe()} {name} points at missing id "{ref}"')
        if node.tag == "label" and attrs.get("for") and attrs["for"] not in by_id:
            found.append(f'{node.describe()} for= points at missing id "{attrs["for"]}"')
        fragment = attrs.get("href", "#")[1:] if attrs.get("href", "").startswith("#") else ""
        if node.tag == "a" and fragment and fragment not in by_id:
            found.append(f"{node.describe()} links to an id that is not on the page")
        tabindex = attrs.get("tabindex", "")
        if tabindex.lstrip("-").isdigit() and int(tabindex) > 0:
            found.append(f"{node.describe()} has a positive tabindex {tabindex}")

        if node.tag == "img" and "alt" not in attrs:
            found.append(f"{node.describe()} has no alt")

        if node.tag in {"input", "select", "textarea"}:
            if node.tag == "input" and attrs.get("type", "text") in UNNAMED_INPUTS:
                if attrs.get("type") in {"submit", "button", "reset"} and not _name(node, by_id):
                    found.append(f"{node.describe()} has no text")
                continue
            if not _control_name(node, by_id, labels_for):
                found.append(f"{node.describe()} has no accessible name")
            # WCAG 1.3.5: a browser or assistive tool can fill in (or explain) what a field about
            # the person holds; an e-mail field about someone else says "off".
            kind = attrs.get("type", "text")
            if kind in PURPOSES and attrs.get("autocomplete") not in PURPOSES[kind]:
                found.append(f"{node.describe()} does not say what it holds (autocomplete)")

        if node.tag in {"a", "button"} and (node.tag == "button" or "href" in attrs):
            if not _name(node, by_id):
                found.append(f"{node.describe()} has no discernible text")
            if node.tag == "a" and attrs.get("target") == "_blank":
                said = _name(node, by_id) + " " + by_id_text(attrs.get("aria-describedby"), by_id)
                if not NEW_WINDOW.search(said):
                    found.append(f"{node.describe()} opens a new window without saying so")

        if node.tag == "table" and attrs.get("role") not in {"presentation", "none"}:
            cells = [n for n in node.walk() if n.tag == "td"]
            if cells and not any(n.tag == "th" for n in node.walk()):
                found.append(f"{node.describe()} has data cells but no <th> headers")
    return found


def by_id_text(refs: str | None, by_id: dict[str, Node]) -> str:
    return " ".join(by_id[ref].text() for ref in _ids(refs or "") if ref in by_id)


def _name(node: Node, by_id: dict[str, Node]) -> str:
    """The accessible name from aria-labelledby, aria-label or the element's own content."""
    named = by_id_text(node.attrs.get("aria-labelledby"), by_id).strip()
    return named or node.attrs.get("aria-label", "").strip() or node.text()


def _control_name(node: Node, by_id: dict[str, Node], labels_for: dict[str, Node]) -> str:
    named = by_id_text(node.attrs.get("aria-labelledby"), by_id).strip()
    named = named or node.attrs.get("aria-label", "").strip()
    label = labels_for.get(node.attrs.get("id", ""))
    if not named and label is not None:
        named = label.text()
    if not named:
        wrapping = next((a for a in node.ancestors() if a.tag == "label"), None)
        named = wrapping.text() if wrapping is not None else ""
    return named


def error_problems(html: str) -> list[str]:
    """A page showing a form's errors ties each error to its field, as includes/field.html does:
    the control is aria-invalid and aria-describedby names the error text."""
    root = parse(html)
    nodes = root.walk()[1:]
    by_id = {n.attrs["id"]: n for n in nodes if "id" in n.attrs}
    found: list[str] = []
    described = {
        ref for n in nodes for ref in _ids(n.attrs.get("aria-describedby", "")) if ref in by_id
    }
    errors = [n for n in nodes if "field-error" in n.attrs.get("class", "").split()]
    for error in errors:
        if error.attrs.get("id") not in described:
            found.append(f"{error.describe()} {error.text()!r} is not tied to any field")
    # An error shown beside a part of the page rather than in a field's own place counts too.
    errors += [n for n in nodes if n.attrs.get("role") == "alert"]
    for node in nodes:
        if node.attrs.get("aria-invalid") != "true":
            continue
        said = by_id_text(node.attrs.get("aria-describedby"), by_id)
        group = next((a for a in node.ancestors() if a.tag == "fieldset"), None)
        if group is not None:
            said += " " + by_id_text(group.attrs.get("aria-describedby"), by_id)
        if not any(e.text() and e.text() in said for e in errors):
            found.append(f"{node.describe()} is invalid but its error is not read with it")
    return found


# ------------------------------------------------------------------------------------------------
# The pages


@dataclass
class Visit:
    role: str
    method: str
    url: str
    expected: int | str  # the status the access matrix expects


@dataclass
class Matrix:
    world: Callable[[], dict[str, Any]]
    roles: list[str]
    visits: Callable[[dict[str, Any]], Iterator[Visit]]


def _site_visits(w: dict[str, Any]) -> Iterator[Visit]:
    for name, (method, build) in sorted(site.ROUTES.items()):
        for role in site.ROLES:
            yield Visit(role, method, build(w), site.EXPECTED[name][role])


def _meetings_visits(w: dict[str, Any]) -> Iterator[Visit]:
    for name, (method, kwargs, expected) in sorted(meetings.MATRIX.items()):
        for role in meetings.ROLES:
            yield Visit(role, method, reverse(f"meetings:{name}", kwargs=kwargs(w)), expected[role])


def _care_visits(w: dict[str, Any]) -> Iterator[Visit]:
    for name, (method, args, expected) in sorted(care.MATRIX.items()):
        for role in care.ROLES:
            status = expected.get(role, site.LOGIN)  # visitors are sent to log in
            yield Visit(role, method, reverse(f"care:{name}", args=args(w)), status)


MATRICES = {
    "site": Matrix(site.world, site.ROLES, _site_visits),
    "meetings": Matrix(meetings.world, meetings.ROLES, _meetings_visits),
    "care": Matrix(care.world, care.ROLES, _care_visits),
}

#: Sent on its own, this form signs the person out: the pages after it would all be a visitor's.
NOT_SENT = {reverse("account_logout")}


def read(response: HttpResponse, where: str, *, page: bool = True) -> list[str]:
    """The problems of an HTML page (or a part of one), each prefixed with where it was met."""
    if "text/html" not in response.get("Content-Type", "") or not response.content.strip():
        return []
    html = response.content.decode()
    found = problems(html, page=page) + error_problems(html)
    if response.status_code == 400:
        # Refused: the page says why, where a screen reader hears it.
        nodes = parse(html).walk()
        if not any(
            n.attrs.get("aria-invalid") == "true" or (n.attrs.get("role") == "alert" and n.text())
            for n in nodes
        ):
            found.append("refused (400) without saying what to put right")
    return [f"{where}: {p}" for p in found]


def clients(w: dict[str, Any], roles: list[str]) -> dict[str, Client]:
    signed_in = {}
    for role in roles:
        client = Client()
        if w["users"][role] is not None:
            client.force_login(w["users"][role])
        signed_in[role] = client
    return signed_in


@pytest.mark.django_db
@pytest.mark.parametrize("matrix", sorted(MATRICES))
def test_every_page_reads_well_for_every_role(matrix: str) -> None:
    spec = MATRICES[matrix]
    w = spec.world()
    by_role = clients(w, spec.roles)
    found: list[str] = []
    rendered = 0
    to_send: dict[tuple[str, Form], None] = {}  # in the order met, without repeats
    for visit in spec.visits(w):
        if visit.method != "get":
            # The matrix's own POSTs are sent with the forms, after every page has been read.
            if visit.expected not in (404, site.LOGIN):
                to_send[visit.role, (visit.url, (), False)] = None
            continue
        response = by_role[visit.role].get(visit.url)
        where = f"{visit.role} GET {visit.url}"
        if visit.expected == 200:
            if response.status_code != 200:
                found.append(f"{where}: answered {response.status_code}, not the page")
                continue
            rendered += 1
            for form in forms_to_send(response.content.decode(), visit.url):
                if urlsplit(form[0]).path not in NOT_SENT:
                    to_send[visit.role, form] = None
        found += read(response, where)
    assert rendered, "no page was rendered"
    # Sent cleared, a form answers with its errors or leads on to a page (with a message): both
    # are read. What they change comes after every page above was read as the matrix expects.
    for role, (action, data, in_place) in to_send:
        if in_place:  # the part of the page that answers, read before the whole page is
            part = by_role[role].post(action, dict(data), HTTP_HX_REQUEST="true")
            found += read(part, f"{role} POST {action} in place", page=False)
        response = by_role[role].post(action, dict(data), follow=True)
        found += read(response, f"{role} POST {action} -> {response.request['PATH_INFO']}")
    assert not found, "\n".join(dict.fromkeys(found))


# ------------------------------------------------------------------------------------------------
# Pages the matrices only pass by: reached along the way a person takes to them


class Reader:
    """A browser for one person that reads every page it is shown, following redirects."""

    def __init__(self, user: Any = None) -> None:
        self.user = user
        self.client = Client()
        if user is not None:
            self.client.force_login(user)
        self.found: list[str] = []
        self.templates: set[str] = set()

    def _read(self, response: HttpResponse, where: str) -> HttpResponse:
        assert response.status_code < 500, where
        self.templates.update(t.name for t in response.templates if t.name)
        self.found += read(response, where)
        return response

    def get(self, url: str) -> HttpResponse:
        return self._read(self.client.get(url, follow=True), f"GET {url}")

    def post(self, url: str, data: dict[str, Any] | None = None) -> HttpResponse:
        return self._read(self.client.post(url, data or {}, follow=True), f"POST {url} {data}")


def _joining() -> list[Reader]:
    """Agreements and intake questionnaires (each sent cleared first), answers shared from
    another group, and a refusal to a member from a state the clinician may not see."""
    lead = LicenseFactory(state="NY").clinician.user
    cohort = CohortFactory(lead=lead, program__kind=ProgramKind.THERAPY)
    page = Reader(UserFactory(home_state="NY"))
    page.get(cohort.get_absolute_url())
    consents = reverse("enrollment:consents", args=[cohort.pk])
    boxes = [n.attrs["name"] for n in parse(page.get(consents).content.decode()).walk()
             if n.attrs.get("type") == "checkbox"]  # fmt: skip
    page.post(consents, {"signed_name": ""})
    page.post(consents, {**dict.fromkeys(boxes, "on"), "signed_name": "Sam Example"})
    intake = reverse("measures:intake", args=[cohort.pk])
    codes = intake_codes(ProgramKind.THERAPY)
    page.post(intake, {"instrument": codes[0]})
    for code in codes:
        submit_intake(
            member=page.user, cohort=cohort, instrument=code, answers=answers_for(code, 2)
        )
    page.get(intake)  # all answered
    page.post(reverse("enrollment:join", args=[cohort.pk]))
    other = CohortFactory(lead=lead, program__kind=ProgramKind.THERAPY)
    page.get(reverse("measures:intake", args=[other.pk]))  # asked whether to share them

    elsewhere = Reader(ready_member(home_state="TX"))
    elsewhere.post(reverse("enrollment:join", args=[cohort.pk]))
    return [page, elsewhere]


def _couples() -> list[Reader]:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = Reader(ready_member())
    invite = reverse("enrollment:partner_invite", args=[cohort.pk])
    with only_enrollment_steps():  # no intake questionnaires before the invitation
        inviter.get(invite)
        inviter.post(invite, {"email": "not an address"})
        partner = ready_member()
        sent, token = invite_partner(member=inviter.user, cohort=cohort, email=partner.email)
        accepting = Reader(partner)
        accepting.get(reverse("enrollment:partner_accept", args=[token]))
        services.cancel_partner_invite(invite_id=sent.pk, member=inviter.user)
        accepting.get(reverse("enrollment:partner_accept", args=[token]))
    return [inviter, accepting]


def _staff() -> list[Reader]:
    """A roster with a waiting list and people who left, removing someone, letting them back."""
    with only_enrollment_steps():
        cohort = CohortFactory(capacity=1)
        seated = services.enroll(member=ready_member(), cohort=cohort)
        services.enroll(member=ready_member(), cohort=cohort)  # waiting
        removed = services.enroll(member=ready_member(), cohort=CohortFactory(capacity=3))
    staff = UserFactory(is_staff=True)
    services.remove(enrollment=removed, actor=staff, reason="Repeated harm")
    coordinator = Reader(staff)
    coordinator.get(reverse("enrollment:roster", args=[cohort.pk]))
    coordinator.get(reverse("enrollment:roster", args=[removed.cohort_id]))
    coordinator.get(reverse("enrollment:remove", args=[seated.pk]))
    coordinator.post(reverse("enrollment:remove", args=[seated.pk]), {"reason": ""})
    coordinator.get(reverse("enrollment:readmit", args=[removed.pk]))
    return [coordinator]


def _meeting_refused() -> list[Reader]:
    """A therapy member who says they are in a state the clinician is not licensed in."""
    cohort = CohortFactory(
        lead=LicenseFactory(state="NY").clinician.user, program__kind=ProgramKind.THERAPY
    )
    meeting = meeting_at(cohort, timezone.now() + timedelta(minutes=5))
    member = Reader(member_of(cohort, home_state="NY"))
    sign_all(member.user)
    member.get(meeting.get_absolute_url())
    member.post(reverse("meetings:join", args=[meeting.pk]), {"state": ""})
    member.post(reverse("meetings:join", args=[meeting.pk]), {"state": "TX"})
    return [member]


def _care() -> list[Reader]:
    """Reporting a post, deleting a journal entry, and an entry that sounds like a crisis: the
    next page opens with the crisis resources, above its own heading."""
    circle = make_circle(2)
    author, member = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    reporter = Reader(member)
    reporter.get(reverse("care:report_post", args=[post.pk]))
    reporter.post(reverse("care:report_post", args=[post.pk]), {"reason": ""})
    writer = Reader(author)
    entry = ReflectionFactory(member=author, cohort=circle.cohort)
    writer.get(reverse("care:journal_delete", args=[entry.pk]))
    shared = ReflectionFactory(member=author, cohort=circle.cohort, shared_with_facilitator=True)
    writer.get(reverse("care:journal_entry", args=[shared.pk]))
    writer.post(reverse("care:journal"), {"body": "Some days I want to end it all."})
    return [reporter, writer]


def _signed_notes() -> list[Reader]:
    """A signed group note, its amendment, and the signed version on a page of its own."""
    w = site.world()
    lead = Reader(w["users"]["clinician"])
    sign_note(note=w["group_note"], actor=lead.user)
    lead.get(reverse("clinic:notes", args=[w["meeting"].pk]))
    lead.post(reverse("clinic:amend", args=["group", w["group_note"].pk]))
    lead.get(reverse("clinic:note", args=["group", w["group_note"].pk]))
    return [lead]


def _second_factor() -> list[Reader]:
    """Signing in with a code from an authenticator app (sent empty first), then the two-factor
    page."""
    staff = UserFactory(is_staff=True)
    secret = enable_totp(staff)
    person = Reader()
    login = reverse("account_login")
    person.post(login, {"login": staff.email, "password": PASSWORD})  # on to the code
    person.post(reverse("mfa_authenticate"), {"code": ""})
    person.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    person.get(reverse("mfa_index"))
    return [person]


def _cancelling() -> list[Reader]:
    """The admin is Django's own; the page that asks before groups are cancelled is ours."""
    coordinator = Reader(UserFactory(is_staff=True))
    chosen = {"action": "cancel_groups", "_selected_action": [CohortFactory().pk]}
    coordinator.post(reverse("admin:programs_cohort_changelist"), chosen)
    return [coordinator]


def _leaving() -> list[Reader]:
    member = Reader(UserFactory())
    member.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    return [member]


#: A way through the site, and the pages it must pass (so that none is left out unseen).
SCENARIOS: dict[str, tuple[Callable[[], list[Reader]], set[str]]] = {
    "joining": (
        _joining,
        {
            "enrollment/consents.html",
            "measures/questionnaire.html",
            "measures/intake_done.html",
            "measures/intake_share.html",
            "enrollment/join.html",
        },
    ),
    "couples": (
        _couples,
        {
            "enrollment/partner_invite.html",
            "enrollment/partner_accept.html",
            "enrollment/partner_invite_ended.html",
        },
    ),
    "staff": (
        _staff,
        {"enrollment/roster.html", "enrollment/remove.html", "enrollment/readmit.html"},
    ),
    "meeting_refused": (_meeting_refused, {"meetings/join_refused.html"}),
    "care": (
        _care,
        {
            "care/report_post.html",
            "care/journal_delete.html",
            "care/_shared_status.html",
            "includes/crisis.html",
        },
    ),
    "signed_notes": (_signed_notes, {"clinic/_signed_by.html", "clinic/note_version.html"}),
    "leaving": (_leaving, {"accounts/deleted.html"}),
    "cancelling": (_cancelling, {"admin/programs/cohort/cancel_confirm.html"}),
    "second_factor": (_second_factor, {"mfa/authenticate.html", "mfa/index.html"}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_pages_along_the_way_read_well(scenario: str) -> None:
    steps, pages = SCENARIOS[scenario]
    publish_consents()
    readers = steps()
    seen = set().union(*(r.templates for r in readers))
    assert pages <= seen, f"never shown: {sorted(pages - seen)}"
    found = [p for r in readers for p in r.found]
    assert not found, "\n".join(dict.fromkeys(found))


# ------------------------------------------------------------------------------------------------
# Sign-in and account pages (django-allauth, in the site's own templates) and the error pages

ALLAUTH_PREFIXES = ("account_", "mfa_", "usersessions_")


def allauth_pages() -> list[str]:
    """Every sign-in and account address outside the admin, any key in it made up."""
    found: list[str] = []

    def walk(patterns: list[Any]) -> None:
        for p in patterns:
            if isinstance(p, URLResolver) and p.namespace != "admin":
                walk(p.url_patterns)
            # Not the sign-out: the pages after it would all be a visitor's.
            elif (
                isinstance(p, URLPattern)
                and (p.name or "").startswith(ALLAUTH_PREFIXES)
                and p.name != "account_logout"
            ):
                keys = p.pattern.regex.groupindex
                found.append(reverse(p.name, kwargs=dict.fromkeys(keys, "x1")))

    walk(get_resolver().url_patterns)
    return sorted(set(found))


#: Pages each person must have been shown among them (so that the walk cannot pass by reading
#: only redirects).
ACCOUNT_PAGES = {
    "visitor": {"account/login.html", "account/signup.html", "account/password_reset.html"},
    "member": {"account/email.html", "account/password_change.html", "mfa/index.html"},
    "coordinator": {"account/email.html", "usersessions/usersession_list.html"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["visitor", "member", "coordinator"])
def test_sign_in_and_account_pages_read_well(who: str) -> None:
    user = {
        "visitor": None,
        "member": lambda: UserFactory(),
        "coordinator": lambda: UserFactory(is_staff=True),
    }[who]
    page = Reader(user() if user else None)
    for url in allauth_pages():
        shown = page.get(url)
        for action, data, _ in forms_to_send(shown.content.decode(), shown.request["PATH_INFO"]):
            if urlsplit(action).path not in NOT_SENT:
                page.post(action, dict(data))
    assert not page.found, "\n".join(dict.fromkeys(page.found))
    assert ACCOUNT_PAGES[who] <= page.templates


def test_error_pages_read_well() -> None:
    """As each is drawn: 400 and 500 by Django with no request at all, 404 on its own, 405 and
    429 with the request (tests/test_middleware.py, allauth's rate limits)."""
    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    found = []
    for name in ("400.html", "500.html"):
        found += [f"{name}: {p}" for p in problems(render_to_string(name))]
    for name in ("404.html", "405.html", "429.html"):
        found += [f"{name}: {p}" for p in problems(render(request, name).content.decode())]
    assert not found, "\n".join(found)


# ------------------------------------------------------------------------------------------------
# Errors shown in a part of a page, and fields about the person


@pytest.mark.django_db
@pytest.mark.parametrize("in_place", [True, False], ids=["in place", "without javascript"])
def test_a_thank_you_refused_is_read_with_its_box(in_place: bool) -> None:
    """A care match's thank-you of only spaces passes the browser's own check and is refused:
    sent in place (JavaScript) the match comes back, without JavaScript the post's page does;
    either way the box says it is invalid and why, and the error is said once."""
    circle = make_circle(2)
    author, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, kind="request")
    now = timezone.now()
    match = make_match(
        post, helper, status="done", done_at=now, giver_done_at=now, receiver_done_at=now
    )
    client = Client()
    client.force_login(author)
    headers = {"HTTP_HX_REQUEST": "true"} if in_place else {}
    url = reverse("care:match_thanks", args=[match.pk])
    response = client.post(url, {"text": "   "}, **headers)
    html = response.content.decode()
    assert html.count("Please write a few words of thanks.") == 1
    nodes = parse(html).walk()
    by_id = {n.attrs["id"]: n for n in nodes if "id" in n.attrs}
    box = by_id[f"thanks-{match.pk}"]
    assert box.attrs.get("aria-invalid") == "true"
    said = by_id_text(box.attrs.get("aria-describedby"), by_id)
    assert "Please write a few words of thanks." in said
    assert problems(html, page=not in_place) + error_problems(html) == []
    assert not match.__class__.objects.get(pk=match.pk).thanked_at


#: Fields about the person filling them in, and what each holds (WCAG 1.3.5): the browser can
#: fill them in, and assistive tools can explain them.
OWN_DETAILS = {
    "contact": ("inquiries:contact", None, {"name": "name", "email": "email"}),
    "signup": ("account_signup", None, {"email": "email", "display_name": "nickname"}),
    "profile": ("profile", "member", {"display_name": "nickname"}),
    "agreements": ("enrollment:consents", "member", {"signed_name": "name"}),
    "delete": ("delete_account", "member", {"password": "current-password"}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("form_page", sorted(OWN_DETAILS))
def test_fields_about_the_person_say_what_they_hold(form_page: str) -> None:
    publish_consents()
    name, who, fields = OWN_DETAILS[form_page]
    client = Client()
    if who:
        client.force_login(UserFactory())
    url = reverse(name, args=[CohortFactory().pk] if name == "enrollment:consents" else [])
    response = client.get(url)
    assert response.status_code == 200
    held = {
        n.attrs["name"]: n.attrs.get("autocomplete")
        for n in parse(response.content.decode()).walk()
        if n.tag == "input" and n.attrs.get("name") in fields
    }
    assert held == fields


@pytest.mark.django_db
def test_a_form_from_a_page_opened_before_signing_in_again_says_what_to_do() -> None:
    """A form whose security check fails (most often: opened before the person last signed in
    or out, as the idle sign-out does) answers with a page in the site's layout that says, in
    plain words, that nothing was sent and how to send it again, not Django's bare 403."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post(reverse("care:journal"), {"body": "What I wrote"})
    assert response.status_code == 403
    html = response.content.decode()
    assert problems(html) == []
    assert "Nothing was sent and nothing has changed." in html
    assert 'href="/my/"' in html  # a way on
