"""One helper decides whether a view answers with a whole page or an htmx fragment."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

# The request headers the choice between page and fragment reads. A response names them in
# ``Vary``, so a browser never answers a plain navigation (Back, a reload, a new tab) with
# a fragment it cached for an htmx request to the same URL, nor the reverse.
VARY = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx request that swaps part of a page. A boosted link and htmx restoring its
    history (after Back, on a cache miss) replace the whole body: they get the page."""
    htmx = getattr(request, "htmx", None)
    return (
        bool(htmx)
        and not getattr(htmx, "boosted", False)
        and not getattr(htmx, "history_restore_request", False)
    )


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template``; an htmx request gets ``fragment`` (a partial template) instead.

    Every response says it varies by the htmx headers, also when this call has no fragment:
    views that pick a partial template themselves for htmx also answer through here."""
    name = fragment if (fragment and wants_fragment(request)) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, VARY)
    return response
