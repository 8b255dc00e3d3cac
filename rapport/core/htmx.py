"""One helper decides whether a view answers with a whole page or an htmx fragment."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template``; an htmx request gets ``fragment`` (a partial template) instead."""
    is_htmx = bool(getattr(request, "htmx", False))
    boosted = is_htmx and bool(getattr(getattr(request, "htmx", None), "boosted", False))
    name = fragment if (fragment and is_htmx and not boosted) else template
    return render(request, name, context, status=status)
