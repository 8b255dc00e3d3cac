"""ETags and If-Match: every versioned record's ETag is its version, quoted."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from rapport.core.errors import VersionConflict


def expected_version(request: HttpRequest) -> int | None:
    """The version named by ``If-Match``; None when absent or ``*`` (no check).

    A value that is not one of our ETags can never match, so it is a 412 like a stale one.
    """
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    value = header.split(",")[0].strip()
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise VersionConflict(f"If-Match {header} is not an ETag this API gave out.")
    return int(value)


def set_etag(response: HttpResponse, version: int) -> None:
    response["ETag"] = f'"{version}"'
