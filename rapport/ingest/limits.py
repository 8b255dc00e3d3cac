"""Upload sizes refused from the request's Content-Length, before Django reads the body:
CSRF checking and form parsing would otherwise spool the whole upload to disk first, and
only then would the view see that it was too large."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.html import escape

# Room for the multipart framing and the form's other fields.
MARGIN = 1024 * 1024

# URL name -> the setting that bounds the file it receives.
LIMITS = {
    "ingest:import-create": "IMPORT_MAX_UPLOAD_BYTES",
    "api:import-create": "IMPORT_MAX_UPLOAD_BYTES",
    "ingest:capture-mail": "RAPPORT_MAIL_UPLOAD_MAX_BYTES",
    "api:capture-mail": "RAPPORT_MAIL_UPLOAD_MAX_BYTES",
    "ingest:capture-vcard": "RAPPORT_VCARD_UPLOAD_MAX_BYTES",
    "api:capture-vcard": "RAPPORT_VCARD_UPLOAD_MAX_BYTES",
    "ingest:capture-card": "RAPPORT_CARD_IMAGE_MAX_BYTES",
    "api:capture-card-image": "RAPPORT_CARD_IMAGE_MAX_BYTES",
}


def limit_for(request: HttpRequest) -> int | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    setting = LIMITS.get(match.view_name)
    return None if setting is None else int(getattr(settings, setting))


class UploadSizeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                declared = int(request.headers.get("Content-Length") or 0)
            except ValueError:
                declared = 0
            limit = limit_for(request) if declared > MARGIN else None
            if limit is not None and declared > limit + MARGIN:
                return too_large(request, declared, limit)
        return self.get_response(request)


def too_large(request: HttpRequest, declared: int, limit: int) -> HttpResponse:
    detail = f"The upload is {declared:,} bytes; a file may be at most {limit:,} bytes."
    if request.path_info.startswith("/api/"):
        from rapport.api.errors import problem

        return problem(413, detail, errors={"file": [detail]})
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>File too large</title></head>'
        f'<body><main><h1>File too large</h1><p id="f-file-error">{escape(detail)}</p>'
        f'<p><a href="{escape(request.path)}">Choose a smaller file</a></p></main></body></html>'
    )
    return HttpResponse(page, status=413)
