"""Every error the API returns is ``application/problem+json`` (RFC 9457).

Body: ``type``, ``title`` (the HTTP status phrase), ``status``, ``detail`` (what went wrong,
for a person) and ``errors`` (``{field: [messages]}``, with paths like ``emails[0].email``).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from rapport.core.errors import Moved, RapportError, VersionConflict
from rapport.core.web import moved_path

PROBLEM_TYPE = "about:blank"
CONTENT_TYPE = "application/problem+json"


def problem(
    status: int, detail: str, errors: dict[str, list[str]] | None = None, **extra: Any
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": errors or {},
        **extra,
    }
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder), status=status, content_type=CONTENT_TYPE
    )


def field_path(loc: list[Any] | tuple[Any, ...]) -> str:
    """``["emails", 0, "email"]`` -> ``"emails[0].email"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_MESSAGES = {"extra_forbidden": "Unknown field.", "missing": "Required."}


def schema_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Ninja's list of pydantic errors as ``{field path: [messages]}``.

    A location starts with where the value came from (``body``, ``query``, ``header``…)
    and, for a body, the parameter's name; neither is part of the field's path.
    """
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = list(error.get("loc", []))
        source = loc.pop(0) if loc else "body"
        if source == "body" and loc:
            loc.pop(0)
        name = field_path(loc) or source
        message = _MESSAGES.get(error.get("type", ""), str(error.get("msg", "Invalid value.")))
        errors.setdefault(name, []).append(message)
    return errors


def _rapport_error(request: HttpRequest, exc: RapportError) -> HttpResponse:
    if isinstance(exc, Moved):
        # 308 keeps the method and body: a client following it acts on the survivor.
        response = problem(308, exc.message, moved_to=exc.target_id)
        target = moved_path(request.path, exc)
        if target:
            response["Location"] = target
        return response
    extra = {}
    if isinstance(exc, VersionConflict) and exc.current_version is not None:
        extra["current_version"] = exc.current_version
    return problem(exc.status, exc.message, exc.errors, **extra)


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem(422, "The request has invalid values.", schema_errors(exc))


def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = exc.message if exc.message != "Unauthorized" else "Sign in, or send a bearer token."
    response = problem(401, message)
    response["WWW-Authenticate"] = 'Bearer realm="rapport"'
    return response


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem(exc.status_code, exc.message)


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(404, "Not found.")


def _id_out_of_range(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    # An id past the database's integer range (SQLite refuses to bind it) names no record:
    # answer as for any id that does not exist, on every endpoint at once.
    return problem(404, "Not found.")


def register(api: NinjaAPI) -> None:
    # ninja types a handler's argument as "the exception or its class"; ours get instances.
    handlers: list[tuple[type[Exception], Any]] = [
        (RapportError, _rapport_error),
        (ValidationError, _validation_error),
        (AuthenticationError, _authentication_error),
        (HttpError, _http_error),
        (Http404, _not_found),
        (OverflowError, _id_out_of_range),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
