"""The REST API under /api/v1/: one NinjaAPI, routers from each app's ``api.py``.

Authentication: a personal access token (``Authorization: Bearer cc_…``) or the browser session (with
CSRF on unsafe methods). Every error has one shape: ``{"code", "message", "detail"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import Field, NinjaAPI, Schema
from ninja import Router as NinjaRouter
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.pagination import LimitOffsetPagination
from ninja.schema import DjangoGetter
from ninja.security import APIKeyCookie, HttpBearer
from ninja.throttling import AnonRateThrottle, AuthRateThrottle
from pydantic import field_validator, model_validator

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

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # No session cookie, no session to forge: a request with a bad token and no session is
        # "unauthenticated" (401), not a CSRF failure.
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.api_token = None  # type: ignore[attr-defined]
            return user
        return None


_View = TypeVar("_View", bound=Callable[..., Any])


class Router(NinjaRouter):
    """Every app's router. A GET operation answers HEAD too, as the site's read-only pages do:
    the same status and headers, and no body (the server leaves it out). ``head=False`` keeps
    HEAD (405) for an operation whose every answer is recorded in the audit trail, so that no
    read is recorded without anything having been read."""

    def get(self, path: str, *, head: bool = True, **kwargs: Any) -> Callable[[_View], _View]:
        as_get = super().get(path, **kwargs)
        if not head:
            return as_get
        # Not in the OpenAPI document: one operation per GET there, as before.
        as_head = self.api_operation(["HEAD"], path, **{**kwargs, "include_in_schema": False})

        def register(view: _View) -> _View:
            as_head(view)
            return as_get(view)

        return register


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


class Input(Schema):
    """What a client sends. Text holding a null character is refused, as the site's forms refuse
    it (no column stores one faithfully)."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        # A JSON list, string, number or null is not a body with fields (Schema would otherwise
        # read it attribute by attribute, find nothing and take every field's default).
        raw = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(raw, dict):
            raise ValueError("Send a JSON object with the fields named in the API's documentation.")
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _no_null_characters(cls, value: Any) -> Any:
        texts = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise ValueError("Null characters are not allowed.")
        return value


class ErrorOut(Schema):
    """The one error shape: a stable code, words a person can act on, and optional detail."""

    code: str
    message: str
    detail: Any = None


#: Error statuses an authenticated operation may answer, each with ``ErrorOut``.
ERRORS = frozenset({400, 401, 403, 404, 409, 413, 422, 429})

#: Error statuses the public catalog may answer (no sign-in, reads only), each with ``ErrorOut``.
PUBLIC_ERRORS = frozenset({404, 422, 429})

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
    if exc.errors and all(list(e.get("loc", []))[:1] == ["path"] for e in exc.errors):
        # An id in the address that no object can have (0, negative, beyond any key): as any
        # other id that finds nothing.
        return error(request, 404, "not_found", "We couldn't find that.")
    detail = [
        {"loc": [str(p) for p in e.get("loc", [])], "msg": str(e.get("msg", ""))}
        for e in exc.errors
    ]
    return error(request, 422, "invalid", "Some of what was sent isn't valid.", detail)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error(request, 401, "unauthenticated", "Sign in or send a valid token.")
    # HTTP requires a 401 to name the scheme it wants (RFC 9110 §15.5.2): a bearer token.
    response["WWW-Authenticate"] = 'Bearer realm="circlecare API"'
    return response


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return error(request, 429, "rate_limited", "Too many requests. Please slow down.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", "We couldn't find that.")


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return error(
        request, 413, "too_large", f"What was sent is too large: please keep it under {limit} MB."
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    return error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any address under /api/ that is not an operation, in the API's error shape."""
    return JsonResponse(
        {"code": "not_found", "message": "There is no such address in the API.", "detail": None},
        status=404,
    )


def method_not_allowed(allowed: str) -> HttpResponse:
    """An operation asked with a method it does not take, in the API's error shape."""
    response = JsonResponse(
        {
            "code": "method_not_allowed",
            "message": "This address doesn't take that method.",
            "detail": {"allowed": [m.strip() for m in allowed.split(",") if m.strip()]},
        },
        status=405,
    )
    response["Allow"] = allowed
    return response


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
