"""Who is calling: a personal bearer token, or the browser's Django session.

A request that sends an ``Authorization`` header is judged by that header alone: a wrong,
revoked or deactivated user's token is a 401 even if a session cookie is also present.
Session requests must pass Django's CSRF check on unsafe methods, since a browser sends the
cookie on its own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from rapport.audit.models import Via
from rapport.audit.services import Actor
from rapport.users.services import token_authenticate


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is None:
            raise AuthenticationError(
                401, "The token is unknown, revoked, or its user is inactive."
            )
        return user


class SessionAuth(APIKeyCookie):
    """Django's login session, for the app's own pages and the interactive reference."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        if "Authorization" in request.headers:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if check_csrf(request) is not None:
            raise AuthorizationError(403, "CSRF check failed: send the X-CSRFToken header.")
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return None  # __call__ does the work; required by the abstract base


def actor_of(request: HttpRequest) -> Actor:
    """The Actor every service gets: the user, the API path and, for tokens, which one."""
    user = request.auth  # type: ignore[attr-defined]
    token_id = getattr(user, "api_token_id", None)
    context = {"token": user.api_token_name, "token_id": token_id} if token_id is not None else {}
    return Actor(user=user, via=Via.API, context=context)
