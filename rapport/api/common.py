"""Small helpers the endpoint modules share."""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Schema
from ninja.responses import NinjaJSONEncoder
from pydantic import Field

from rapport.users.models import User


def user_of(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def problems(*codes: int) -> dict[int, Any]:
    """The error responses an operation documents: always 400 (a body or query ninja cannot
    parse, such as malformed JSON), 401 and 422 too."""
    return dict.fromkeys(sorted({400, 401, 422, *codes}), Problem)


def data_of(payload: Any, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields the client actually sent: a PATCH changes those and nothing else."""
    return payload.model_dump(exclude_unset=True, exclude=set(exclude))


def rendered(response: HttpResponse, body: dict[str, Any]) -> HttpResponse:
    """``body`` as JSON in ninja's response (with the headers already set on it), without
    ninja checking it against the operation's response schema again.

    For the busiest reads only: their renderers build exactly the schema's shape, and
    tests hold them to it. Validating a contact with its parts cost more than reading it.
    Ninja's own encoder, so dates and times are written as everywhere else.
    """
    response.content = json.dumps(body, cls=NinjaJSONEncoder)
    return response


class Problem(Schema):
    """An error (RFC 9457), served as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    errors: dict[str, list[str]] = Field(description="{field path: [messages]}")
