"""The REST API under /api/v1/: one NinjaAPI, routers from each app's ``api.py``.

Authentication: a personal access token (``Authorization: Bearer cc_…``) or the browser session (with
CSRF on unsafe methods). Every error has one shape: ``{"code", "message", "detail"}``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.pagination import LimitOffsetPagination
from ninja.security import APIKeyCookie, HttpBearer
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from circlecare.accounts.models import PersonalAccessToken
from circlecare.accounts.tokens import verify_token
from circlecare.errors import DomainError


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = verify_token(token)
        if found is None:
            return None
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session; CSRF is checked on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.api_token = None  # type: ignore[attr-defined]
            return user
        return None


token_auth = TokenAuth()
session_auth = SessionAuth()
AUTH = [token_auth, session_auth]


class PerUserThrottle(AuthRateThrottle):
    """200 requests a minute per user (all of a user's tokens and sessions share it)."""

    def get_cache_key(self, request: HttpRequest) -> str | None:  # type: ignore[override]
        user = getattr(request, "auth", None)
        if user is None:
            return None
        return self.cache_format % {"scope": "user", "ident": getattr(user, "pk", user)}


api = NinjaAPI(
    title="circlecare API",
    version="1",
    description=(
        "Programs and groups, a member's enrollments, meetings, questionnaires and care board, and "
        "the staff views a practice's other systems need. Errors: {code, message, detail}."
    ),
    urls_namespace="api",
    throttle=[AnonRateThrottle("100/m"), PerUserThrottle("200/m")],
)


class ErrorOut(Schema):
    """The one error shape: a stable code, words a person can act on, and optional detail."""

    code: str
    message: str
    detail: Any = None


#: Error statuses an authenticated operation may answer, each with ``ErrorOut``.
ERRORS = frozenset({400, 401, 403, 404, 409, 422, 429})

#: The largest object id a path accepts (beyond it the database cannot hold the number).
ID_MAX = 2_147_483_647


class Pagination(LimitOffsetPagination):
    """``limit`` (1–100, default 20) and ``offset``; answers ``{"items": [...], "count": n}``."""

    class Input(Schema):
        limit: int = Field(20, ge=1, le=100)
        offset: int = Field(0, ge=0, le=ID_MAX)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=100, **kwargs)


def error(
    request: HttpRequest, status: int, code: str, message: str, detail: Any = None
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "detail": detail}, status=status
    )


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error(request, exc.status, exc.code, exc.message, exc.detail)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = [
        {"loc": [str(p) for p in e.get("loc", [])], "msg": str(e.get("msg", ""))}
        for e in exc.errors
    ]
    return error(request, 422, "invalid", "Some of what was sent isn't valid.", detail)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 401, "unauthenticated", "Sign in or send a valid token.")


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return error(request, 429, "rate_limited", "Too many requests. Please slow down.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", "We couldn't find that.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    return error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


def form_errors(form: Any) -> dict[str, list[str]]:
    """A Django form's errors as the ``detail`` of an error answer: field → messages."""
    return {field: [str(e) for e in errors] for field, errors in form.errors.items()}


def require_scope(request: HttpRequest, scope: str) -> None:
    """Tokens carry scopes; a browser session has every scope its user's role allows."""
    token: PersonalAccessToken | None = getattr(request, "api_token", None)
    if token is not None and not token.allows(scope):
        raise HttpError(403, f"This token does not have the '{scope}' scope.")


def _register_routers() -> None:
    from importlib import import_module

    for app, prefix in (
        ("programs", "/"),
        ("accounts", "/me"),
        ("enrollment", "/enrollments"),
        ("meetings", "/meetings"),
        ("measures", "/measures"),
        ("care", "/care"),
        ("clinic", "/clinic"),
    ):
        try:
            module = import_module(f"circlecare.{app}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"circlecare.{app}.api":
                raise
            continue
        api.add_router(prefix, module.router, tags=[app])


_register_routers()
