"""The one place web views turn service errors into pages.

Views stay thin: they call a selector or a service and let ``PermissionDenied`` and
``NotFound`` bubble up; ``web_view`` answers them with a 403 or 404 page (a record the
user may not see is a 404, so its existence is not revealed).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from rapport.core.actor import Actor
from rapport.core.errors import Moved, NotFound, PermissionDenied, ValidationFailed
from rapport.core.htmx import render_page

if TYPE_CHECKING:
    from rapport.users.models import User


def user_of(request: HttpRequest) -> User:
    """The logged-in user (``web_view`` has made sure there is one)."""
    return cast("User", request.user)


def actor_of(request: HttpRequest) -> Actor:
    return Actor(user=request.user, via="web")


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    titles = {400: "That request did not make sense", 403: "Not allowed", 404: "Not found"}
    context = {"status": status, "title": titles.get(status, "Error"), "message": message}
    return render_page(request, "error.html", context, fragment="_error.html", status=status)


def moved_path(path: str, exc: Moved) -> str:
    """The same address with the merged-away id replaced by the survivor's ('' if none)."""
    pattern = re.compile(r"/(?:api/v1/)?" + re.escape(exc.kind) + r"s/(\d+)(/|$)")
    found = pattern.search(path)
    if not found:
        return ""
    return f"{path[: found.start(1)]}{exc.target_id}{path[found.end(1) :]}"


def web_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Login required; PermissionDenied → 403, NotFound → 404, stray ValidationFailed → 400."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return error_page(request, 403, exc.message)
        except Moved as exc:
            target = moved_path(request.path, exc)
            if request.method in ("GET", "HEAD") and target:
                return redirect(target)
            return error_page(request, 404, exc.message)
        except NotFound as exc:
            return error_page(request, 404, exc.message)
        except ValidationFailed as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            return error_page(request, 400, f"{exc.message} {details}".strip())

    return login_required(wrapper)
