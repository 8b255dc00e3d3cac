"""The data dictionary: extra fields admins add to accounts and contacts."""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Status

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.api.concurrency import expected_version, set_etag
from rapport.customers import selectors, services
from rapport.customers.api import render
from rapport.customers.api.schemas import DataFieldCreate, DataFieldOut, DataFieldPatch
from rapport.customers.models import DataField

router = Router(tags=["datafields"])


def _get(request: HttpRequest, field_id: int) -> DataField:
    return selectors.datafield_get(actor=user_of(request), pk=field_id)


@router.get(
    "/datafields", response={200: list[DataFieldOut], **problems(403)}, url_name="datafield-list"
)
def datafield_list(request: HttpRequest):
    """Every data-dictionary field, retired ones included (`is_active` false)."""
    return [render.datafield(df) for df in selectors.datafield_list(actor=user_of(request))]


@router.post(
    "/datafields", response={201: DataFieldOut, **problems(403)}, url_name="datafield-create"
)
def datafield_create(request: HttpRequest, payload: DataFieldCreate, response: HttpResponse):
    field = services.datafield_create(actor=actor_of(request), data=data_of(payload))
    set_etag(response, field.version)
    response["Location"] = reverse("api:datafield-detail", kwargs={"field_id": field.pk})
    return Status(201, render.datafield(field))


@router.get(
    "/datafields/{field_id}",
    response={200: DataFieldOut, **problems(403, 404)},
    url_name="datafield-detail",
)
def datafield_read(request: HttpRequest, field_id: int, response: HttpResponse):
    field = _get(request, field_id)
    set_etag(response, field.version)
    return render.datafield(field)


@router.patch(
    "/datafields/{field_id}",
    response={200: DataFieldOut, **problems(403, 404, 412)},
    url_name="datafield-update",
)
def datafield_update(
    request: HttpRequest, field_id: int, payload: DataFieldPatch, response: HttpResponse
):
    field = services.datafield_update(
        actor=actor_of(request),
        field=_get(request, field_id),
        data=data_of(payload),
        expected_version=expected_version(request),
    )
    set_etag(response, field.version)
    return render.datafield(field)


@router.delete(
    "/datafields/{field_id}",
    response={204: None, **problems(403, 404, 412)},
    url_name="datafield-delete",
)
def datafield_delete(request: HttpRequest, field_id: int):
    """Retire the field: it leaves forms and the API; values already stored are kept."""
    field = _get(request, field_id)
    services.datafield_delete(
        actor=actor_of(request), field=field, expected_version=expected_version(request)
    )
    return Status(204, None)
